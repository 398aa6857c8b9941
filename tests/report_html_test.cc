// The HTML report as a person sees it: the built mex runs small milestones, and the report.html
// it writes is opened in headless Chromium (Debian's chromium-headless-shell, scripts/setup.sh)
// inside `unshare -rn` (no network but loopback) with a private HOME and TMPDIR; the tests read
// the DOM the page's script drew. Also the reports written at each phase's end, and one report
// across the sessions of a resumed run.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "report/html_report.h"
#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::RunProgram;
using testing_util::Source;
using testing_util::TempDir;
using testing_util::WriteFile;

constexpr const char* kChromium = "/usr/bin/chromium-headless-shell";
constexpr const char* kHostile = "</script><script>alert(1)</script><!--";

fs::path RunFolder(const TempDir& dir) {
  for (const auto& entry : fs::directory_iterator(dir.path() / ".mex" / "runs")) {
    return entry.path();
  }
  return {};
}

// Runs headless Chromium on `page` with `flags`, offline, its profile in a private folder.
Result Chromium(const fs::path& page, const std::vector<std::string>& flags) {
  TempDir home;
  std::vector<std::string> words = {"/usr/bin/unshare", "-rn",           kChromium,
                                    "--no-sandbox",     "--disable-gpu", "--hide-scrollbars"};
  words.insert(words.end(), flags.begin(), flags.end());
  words.push_back("file://" + page.string());
  std::string h = home.path().string();
  return RunProgram(words, h,
                    {"HOME=" + h, "TMPDIR=" + h, "XDG_CONFIG_HOME=" + h, "XDG_CACHE_HOME=" + h,
                     "PATH=/usr/bin:/bin"});
}

// The DOM of `page` once its script ran (virtual time lets everything it scheduled run).
std::string DumpDom(const fs::path& page) {
  Result r = Chromium(page, {"--virtual-time-budget=5000", "--dump-dom"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("data-drawn=\"yes\""), std::string::npos)
      << "the page's script did not finish: " << r.err;
  return r.out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct Bar {
  std::string classes;
  std::string task;
  int attempt;
};

// The attempt bars of the timeline in a dumped DOM.
std::vector<Bar> Bars(const std::string& dom) {
  static const std::regex bar(
      R"re(<rect [^>]*class="bar ([^"]*)" data-task="([^"]*)" data-attempt="(\d+)")re");
  std::vector<Bar> out;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), bar); it != std::sregex_iterator();
       ++it) {
    out.push_back({(*it)[1], (*it)[2], std::stoi((*it)[3])});
  }
  return out;
}

// The task graph's nodes: task -> classes.
std::map<std::string, std::string> Nodes(const std::string& dom) {
  static const std::regex node(R"re(<g class="node ([^"]*)" data-task="([^"]*)")re");
  std::map<std::string, std::string> out;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), node); it != std::sregex_iterator();
       ++it) {
    out[(*it)[2]] = (*it)[1];
  }
  return out;
}

// A retry, a failure whose log holds a script tag, a skipped dependent, a chain for the critical
// path, and a gate that fails on a command holding a script tag.
class HtmlReport : public testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir.path() / "broken.sh", std::string("echo 'line one'\necho '") + kHostile +
                                            "'\necho 'last line of the log'\nexit 3\n");
    WriteFile(dir.path() / "m.yaml",
              "milestone: {id: html}\n"
              "defaults: {retry: {max_attempts: 2, backoff: {initial: 0.2s}}}\n"
              "phases:\n"
              "  - name: build\n"
              "    gate: {min_score: 0.9, criteria: [tasks_succeeded, {command: 'test -f \"" +
                  std::string(kHostile) +
                  "\"'}]}\n"
                  "    tasks:\n"
                  "      - {id: flaky, run: [" +
                  Source("tests/agents/fail-until").string() +
                  ", '2'], effort: 3}\n"
                  "      - {id: broken, run: [sh, broken.sh], retry: {max_attempts: 1}}\n"
                  "      - {id: after, run: 'true', deps: [broken]}\n"
                  "      - {id: link, run: 'true', deps: [flaky], effort: 3}\n"
                  "      - {id: last, run: 'true', deps: [link], effort: 3}\n");
    run = RunMex({"run", "m.yaml", "--json"}, dir.path().string());
    folder = RunFolder(dir);
  }
  TempDir dir;
  Result run;
  fs::path folder;
};

TEST_F(HtmlReport, EveryAttemptIsOnTheTimelineAndTheCriticalPathIsMarked) {
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  ASSERT_TRUE(fs::exists(folder / "report.html"));
  json r = json::parse(ReadFile(folder / "report.json"));
  std::string dom = DumpDom(folder / "report.html");

  std::set<std::pair<std::string, int>> expected, drawn;
  for (const json& t : r["tasks"]) {
    for (const json& a : t["attempts"]) expected.emplace(t["id"], a["number"].get<int>());
  }
  ASSERT_EQ(expected.size(), 5u);  // flaky twice, broken, link, last; after never ran
  std::set<std::string> critical;
  for (const json& id : r["critical_path"]["tasks"]) critical.insert(id.get<std::string>());
  ASSERT_TRUE(critical.count("flaky") && critical.count("link") && critical.count("last"));
  for (const Bar& b : Bars(dom)) {
    EXPECT_TRUE(drawn.emplace(b.task, b.attempt).second) << "drawn twice: " << b.task;
    bool is_critical = b.classes.find("critical") != std::string::npos;
    EXPECT_EQ(is_critical, critical.count(b.task) > 0) << b.task << ": " << b.classes;
    if (b.task == "flaky" && b.attempt == 1) {
      EXPECT_NE(b.classes.find("o-retried"), std::string::npos);
    }
    if (b.task == "flaky" && b.attempt == 2) {
      EXPECT_NE(b.classes.find("o-succeeded"), std::string::npos);
    }
    if (b.task == "broken") {
      EXPECT_NE(b.classes.find("o-failed"), std::string::npos);
    }
  }
  EXPECT_EQ(drawn, expected);
  // The wait before flaky's second attempt, apart from the bars.
  EXPECT_NE(dom.find("class=\"wait w-retry\" data-task=\"flaky\" data-attempt=\"2\""),
            std::string::npos);
  // Every task is a node of the graph, the critical ones marked.
  std::map<std::string, std::string> nodes = Nodes(dom);
  EXPECT_EQ(nodes.size(), r["tasks"].size());
  for (const json& t : r["tasks"]) {
    std::string id = t["id"];
    ASSERT_TRUE(nodes.count(id)) << id;
    EXPECT_EQ(nodes[id].find("critical") != std::string::npos, critical.count(id) > 0) << id;
    EXPECT_NE(nodes[id].find("s-" + t["state"].get<std::string>()), std::string::npos) << id;
  }
  // The gate, its criteria, and the failure with its log tail.
  EXPECT_NE(dom.find("Gate: score"), std::string::npos);
  EXPECT_NE(dom.find("data-phase=\"build\""), std::string::npos);
  EXPECT_NE(dom.find("class=\"card failure\" data-task=\"broken\""), std::string::npos);
  EXPECT_NE(dom.find("last line of the log"), std::string::npos);
  // What the task and the gate wrote is text: the page's own two scripts are all there is.
  EXPECT_EQ(Count(dom, "<script"), 2u);
  EXPECT_EQ(dom.find("<script>alert"), std::string::npos);
  EXPECT_NE(dom.find("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--"),
            std::string::npos);
  // The file itself: the embedded data can never close its script element.
  std::string html = ReadFile(folder / "report.html");
  EXPECT_EQ(Count(html, "</script>"), 2u);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  // Nothing to fetch: the one URL is the SVG namespace's name.
  EXPECT_EQ(Count(html, "http://"), Count(html, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);

  // A screenshot, kept beside the test binary for a look.
  fs::path shots = fs::path(MEX_BINARY).parent_path() / "test-output";
  fs::create_directories(shots);
  fs::path png = shots / "report-html.png";
  fs::remove(png);
  Result shot = Chromium(
      folder / "report.html",
      {"--virtual-time-budget=5000", "--window-size=1100,1600", "--screenshot=" + png.string()});
  EXPECT_EQ(shot.exit_code, 0) << shot.err;
  EXPECT_GT(fs::exists(png) ? fs::file_size(png) : 0, 10000u);
}

TEST_F(HtmlReport, MexReportWritesHtmlByFormatOrByName) {
  Result by_name = RunMex({"report", "m.yaml", "-o", "r.html"}, dir.path().string());
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  std::string page = ReadFile(dir.path() / "r.html");
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(page.find("id=\"mex-report\""), std::string::npos);
  Result by_format = RunMex({"report", "m.yaml", "--format", "html"}, dir.path().string());
  ASSERT_EQ(by_format.exit_code, 0) << by_format.err;
  EXPECT_TRUE(by_format.out.starts_with("<!DOCTYPE html>"));
  Result bad = RunMex({"report", "m.yaml", "--format", "pdf"}, dir.path().string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--format: pdf not in {md,json,trace,html}"), std::string::npos)
      << bad.err;
}

// The reports are written when a phase ends, while the run goes on: the second phase's task
// waits for them and keeps a copy.
TEST(HtmlReportPhases, WrittenWhenAPhaseEnds) {
  TempDir dir;
  WriteFile(
      dir.path() / "copy.sh",
      "d=.mex/runs/$MEX_RUN_ID\n"
      "i=0\n"
      "while [ ! -f \"$d/report.html\" ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done\n"
      "cp \"$d/report.json\" seen.json && cp \"$d/report.html\" seen.html\n");
  WriteFile(dir.path() / "m.yaml",
            "milestone: {id: phased}\n"
            "phases:\n"
            "  - name: first\n"
            "    weight: 50\n"
            "    tasks:\n"
            "      - {id: one, run: 'true'}\n"
            "  - name: second\n"
            "    weight: 50\n"
            "    tasks:\n"
            "      - {id: two, run: [sh, copy.sh]}\n");
  Result run = RunMex({"run", "m.yaml", "--quiet"}, dir.path().string());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ASSERT_TRUE(fs::exists(dir.path() / "seen.json")) << "no report after the first phase";
  json seen = json::parse(ReadFile(dir.path() / "seen.json"));
  EXPECT_EQ(seen["run"]["state"], "running");
  EXPECT_TRUE(seen["run"]["exit_code"].is_null());
  ASSERT_EQ(seen["phases"].size(), 2u);
  EXPECT_TRUE(seen["phases"][0]["ended_at"].is_number());
  EXPECT_EQ(seen["phases"][0]["gate"]["passed"], true);
  EXPECT_TRUE(seen["phases"][1]["ended_at"].is_null());
  std::string dom = DumpDom(dir.path() / "seen.html");
  EXPECT_EQ(Bars(dom).size(), 2u);  // one done, two running
  EXPECT_NE(dom.find("o-running"), std::string::npos);
  // And the run's end rewrote them.
  json last = json::parse(ReadFile(RunFolder(dir) / "report.json"));
  EXPECT_EQ(last["run"]["state"], "succeeded");
}

// One report across the sessions of a resumed run, each session's start on the timeline.
TEST(HtmlReportResume, TwoSessionsInJsonAndHtml) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: a, run: 'true'}\n"
            "  - {id: b, run: 'test -f go', deps: [a], retry: {max_attempts: 1}}\n");
  ASSERT_EQ(RunMex({"run", "m.yaml", "--quiet"}, dir.path().string()).exit_code, 1);
  WriteFile(dir.path() / "go", "");
  Result second = RunMex({"run", "m.yaml", "--quiet"}, dir.path().string());
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  fs::path folder = RunFolder(dir);
  json r = json::parse(ReadFile(folder / "report.json"));
  ASSERT_EQ(r["sessions"].size(), 2u);
  EXPECT_EQ(r["sessions"][0]["resumed"], false);
  EXPECT_EQ(r["sessions"][1]["resumed"], true);
  std::string dom = DumpDom(folder / "report.html");
  EXPECT_EQ(Count(dom, "class=\"session-mark\""), 2u);
  EXPECT_NE(dom.find("class=\"session-mark\" data-session=\"2\""), std::string::npos);
  EXPECT_NE(dom.find("session 2 (resumed)"), std::string::npos);
  std::set<std::pair<std::string, int>> drawn;
  for (const Bar& b : Bars(dom)) drawn.emplace(b.task, b.attempt);
  EXPECT_EQ(drawn, (std::set<std::pair<std::string, int>>{{"a", 1}, {"b", 1}, {"b", 2}}));
}

// A stalled attempt (silent past stall_after, ended by stall_action: kill) is marked on the
// timeline, and its stall is in report.json.
TEST(HtmlReportStall, StallIsMarkedOnItsAttempt) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "defaults: {stall_after: 0.3s, stall_action: kill, retry: {max_attempts: 1}}\n"
            "tasks:\n  - {id: quiet, run: 'sleep 120'}\n");
  Result run = RunMex({"run", "m.yaml", "--quiet"}, dir.path().string());
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  fs::path folder = RunFolder(dir);
  json r = json::parse(ReadFile(folder / "report.json"));
  ASSERT_EQ(r["stalls"].size(), 1u) << r.dump(2);
  EXPECT_EQ(r["stalls"][0]["task"], "quiet");
  EXPECT_EQ(r["stalls"][0]["attempt"], 1);
  EXPECT_EQ(r["tasks"][0]["attempts"][0]["end"], "stall_killed");
  std::string dom = DumpDom(folder / "report.html");
  EXPECT_NE(dom.find("class=\"stall\" data-task=\"quiet\" data-attempt=\"1\""), std::string::npos);
}

TEST(HtmlReportUnit, ScriptSafeJsonHidesTagsAndReadsBack) {
  nlohmann::ordered_json j = {{"log", std::string(kHostile) + " & more"}};
  std::string text = ScriptSafeJson(j);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(text.find('&'), std::string::npos);
  EXPECT_EQ(nlohmann::ordered_json::parse(text), j);
}

TEST(HtmlReportUnit, LayersAreLongestPathsAndOrderFollowsDeps) {
  // 0 -> 1 -> 3, 0 -> 3, 2 -> 4 (deps listed per node).
  LayeredLayout l = LayOutByLayer({{}, {0}, {}, {1, 0}, {2}});
  EXPECT_EQ(l.layer, (std::vector<int>{0, 1, 0, 2, 1}));
  EXPECT_EQ(l.layers, 3);
  EXPECT_EQ(l.order[0], 0);
  EXPECT_EQ(l.order[2], 1);
  EXPECT_EQ(l.order[1], 0);  // under 0
  EXPECT_EQ(l.order[4], 1);  // under 2
  // A cycle (never in a loaded milestone) stays in layer 0 rather than looping.
  LayeredLayout c = LayOutByLayer({{1}, {0}});
  EXPECT_EQ(c.layer, (std::vector<int>{0, 0}));
}

}  // namespace
}  // namespace mex
