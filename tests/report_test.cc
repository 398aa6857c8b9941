// `mex report` and the reports every run writes into its run folder (docs/report.md): the built
// binary runs small milestones, and the tests read report.json, report.md and the trace.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "report/run_report.h"
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

fs::path RunFolder(const TempDir& dir) {
  for (const auto& entry : fs::directory_iterator(dir.path() / ".mex" / "runs")) {
    return entry.path();
  }
  return {};
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const json* FindTask(const json& report, const std::string& id) {
  for (const json& t : report["tasks"]) {
    if (t["id"] == id) return &t;
  }
  return nullptr;
}

// A retry, a failure whose log holds a fence, a skipped dependent, and a gate that fails with a
// `|` in what it found missing.
class ReportRun : public testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir.path() / "broken.sh",
              "echo 'line one'\necho '```'\necho 'not | markdown <b>x</b>'\necho '````'\n"
              "echo 'last line of the log'\nexit 3\n");
    WriteFile(dir.path() / "m.yaml",
              "milestone: {id: reported}\n"
              "defaults: {retry: {max_attempts: 2, backoff: {initial: 1s}}}\n"
              "phases:\n"
              "  - name: build\n"
              "    gate: {min_score: 0.9, criteria: [tasks_succeeded, {command: 'test -f a || "
              "test -f b || test -f \"<b>\"'}]}\n"
              "    tasks:\n"
              "      - {id: flaky, run: [" +
                  Source("tests/agents/fail-until").string() +
                  ", '2']}\n"
                  "      - {id: broken, run: [sh, broken.sh], retry: {max_attempts: 1}}\n"
                  "      - {id: after, run: 'true', deps: [broken]}\n");
    run = RunMex({"run", "m.yaml", "--json"}, dir.path().string());
    folder = RunFolder(dir);
  }
  TempDir dir;
  Result run;
  fs::path folder;
};

TEST_F(ReportRun, WritesJsonWithEveryTaskAndAttempt) {
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  ASSERT_TRUE(fs::exists(folder / "report.json"));
  ASSERT_TRUE(fs::exists(folder / "report.md"));
  json r = json::parse(ReadFile(folder / "report.json"));
  EXPECT_EQ(r["version"], 1);
  EXPECT_EQ(r["run"]["milestone"], "reported");
  EXPECT_EQ(r["run"]["state"], "failed");
  EXPECT_EQ(r["run"]["exit_code"], 1);
  // 1 of 3 tasks, the gate failed: 1 of 4 parts (model/progress.h), as `mex status` says.
  EXPECT_DOUBLE_EQ(r["run"]["progress"].get<double>(), 0.25);
  Result status = RunMex({"status", "m.yaml", "--json"}, dir.path().string());
  EXPECT_EQ(json::parse(status.out)["progress"]["weighted"], 0.25);
  EXPECT_EQ(r["counts"]["tasks"], 3);
  EXPECT_EQ(r["counts"]["succeeded"], 1);
  EXPECT_EQ(r["counts"]["failed"], 1);
  EXPECT_EQ(r["counts"]["skipped"], 1);
  EXPECT_EQ(r["counts"]["attempts"], 3);
  ASSERT_EQ(r["sessions"].size(), 1u);
  EXPECT_EQ(r["sessions"][0]["resumed"], false);

  const json* flaky = FindTask(r, "flaky");
  ASSERT_NE(flaky, nullptr);
  EXPECT_EQ((*flaky)["state"], "succeeded");
  ASSERT_EQ((*flaky)["attempts"].size(), 2u);
  EXPECT_EQ((*flaky)["attempts"][0]["exit_code"], 1);
  EXPECT_NE((*flaky)["attempts"][0]["class"], "");
  EXPECT_EQ((*flaky)["attempts"][1]["exit_code"], 0);
  EXPECT_EQ((*flaky)["attempts"][1]["end"], "exited");
  ASSERT_EQ(r["waits"].size(), 1u);
  EXPECT_EQ(r["waits"][0]["task"], "flaky");
  EXPECT_DOUBLE_EQ(r["waits"][0]["delay_s"].get<double>(), 1.0);

  const json* broken = FindTask(r, "broken");
  ASSERT_NE(broken, nullptr);
  EXPECT_EQ((*broken)["state"], "failed");
  ASSERT_EQ((*broken)["attempts"].size(), 1u);
  EXPECT_EQ((*broken)["attempts"][0]["exit_code"], 3);
  EXPECT_NE((*broken)["attempts"][0]["log"], "");
  EXPECT_NE((*broken)["attempts"][0]["log_tail"].get<std::string>().find("last line of the log"),
            std::string::npos);

  const json* after = FindTask(r, "after");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ((*after)["state"], "skipped");
  EXPECT_TRUE((*after)["attempts"].empty());
  EXPECT_EQ((*after)["deps"], json::array({"broken"}));

  ASSERT_EQ(r["phases"].size(), 1u);
  const json& gate = r["phases"][0]["gate"];
  ASSERT_TRUE(gate.is_object());
  EXPECT_EQ(gate["passed"], false);
  EXPECT_DOUBLE_EQ(gate["min_score"].get<double>(), 0.9);
  EXPECT_FALSE(gate["missing"].empty());
  EXPECT_EQ(gate["criteria"].size(), 2u);
  EXPECT_TRUE(r["critical_path"].is_object());

  // `mex report --format json` gives the same object (but when it was made).
  Result cmd = RunMex({"report", "m.yaml", "--format", "json"}, dir.path().string());
  ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
  json again = json::parse(cmd.out);
  again.erase("generated_at");
  r.erase("generated_at");
  EXPECT_EQ(again, r);
}

TEST_F(ReportRun, MarkdownHasTheSummaryAndFencedLogTails) {
  std::string md = ReadFile(folder / "report.md");
  EXPECT_NE(md.find("3: 1 succeeded, 1 failed, 1 skipped, 0 cancelled, 0 not run"),
            std::string::npos)
      << md;
  // The log tail is in a fence longer than the ```` it holds: the fence opens before it and
  // closes after the last line, and nothing in between closes it.
  size_t open = md.find("`````text\n");
  ASSERT_NE(open, std::string::npos) << md;
  size_t close = md.find("\n`````\n", open);
  ASSERT_NE(close, std::string::npos) << md;
  std::string inside = md.substr(open, close - open);
  EXPECT_NE(inside.find("\n```\n"), std::string::npos);
  EXPECT_NE(inside.find("not | markdown <b>x</b>"), std::string::npos);  // verbatim in a fence
  EXPECT_NE(inside.find("last line of the log"), std::string::npos);
  // Outside fences, a `|` in a table cell is escaped, and no raw HTML gets through.
  EXPECT_NE(md.find("test -f a \\|\\| test -f b"), std::string::npos) << md;
  std::string outside = md.substr(0, open) + md.substr(close);
  EXPECT_EQ(outside.find("<b>"), std::string::npos) << md;
  EXPECT_NE(outside.find("&lt;b&gt;"), std::string::npos) << md;  // the gate's command, escaped
  EXPECT_NE(md.find("```mermaid"), std::string::npos);
  EXPECT_NE(md.find("t1 --> t2"), std::string::npos) << md;  // after depends on broken

  Result cmd = RunMex({"report", "m.yaml"}, dir.path().string());
  ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
  EXPECT_NE(cmd.out.find("| Tasks | 3: 1 succeeded"), std::string::npos);
}

TEST_F(ReportRun, TraceHasOneCompleteEventPerAttemptWithoutOverlapOnARow) {
  fs::path out = dir.path() / "run.trace.json";
  Result cmd = RunMex({"report", "m.yaml", "-o", out.string()}, dir.path().string());
  ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
  json trace = json::parse(ReadFile(out));
  std::map<int, std::vector<std::pair<int64_t, int64_t>>> rows;
  std::map<std::string, std::string> ends;  // "TASK #N" -> "exit_code class"
  int complete = 0, instants = 0;
  for (const json& e : trace["traceEvents"]) {
    if (e["ph"] == "X") {
      ++complete;
      ends[e["name"]] = e["args"]["exit_code"].dump() + " " + e["args"]["class"].get<std::string>();
      rows[e["tid"].get<int>()].emplace_back(e["ts"].get<int64_t>(), e["dur"].get<int64_t>());
    }
    if (e["ph"] == "i") ++instants;
  }
  EXPECT_EQ(complete, 3);
  EXPECT_EQ(ends, (std::map<std::string, std::string>{
                      {"broken #1", "3 logic"}, {"flaky #1", "1 logic"}, {"flaky #2", "0 "}}));
  EXPECT_GE(instants, 2);  // the session's start, the phase's end
  for (auto& [tid, slices] : rows) {
    std::sort(slices.begin(), slices.end());
    for (size_t i = 1; i < slices.size(); ++i) {
      EXPECT_LE(slices[i - 1].first + slices[i - 1].second, slices[i].first) << "row " << tid;
    }
  }
}

// The Markdown as a CommonMark parser reads it (Debian's cmark, scripts/setup.sh): the log tail
// is one code block, whole; the graph a mermaid block; no HTML from task text, raw or rendered.
TEST_F(ReportRun, MarkdownReadByCommonMark) {
  fs::path md = folder / "report.md";
  Result xml = RunProgram({"/usr/bin/cmark", "--to", "xml", md.string()}, dir.path().string(), {});
  ASSERT_EQ(xml.exit_code, 0) << xml.err;
  EXPECT_EQ(xml.out.find("<html_block"), std::string::npos) << xml.out;
  EXPECT_EQ(xml.out.find("<html_inline"), std::string::npos) << xml.out;
  size_t tail = xml.out.find("<code_block info=\"text\"");
  ASSERT_NE(tail, std::string::npos) << xml.out;
  size_t tail_end = xml.out.find("</code_block>", tail);
  std::string block = xml.out.substr(tail, tail_end - tail);
  for (const char* line : {"line one", "\n```\n", "not | markdown &lt;b&gt;x&lt;/b&gt;", "\n````\n",
                           "last line of the log"}) {
    EXPECT_NE(block.find(line), std::string::npos) << line << " not in " << block;
  }
  EXPECT_NE(xml.out.find("<code_block info=\"mermaid\""), std::string::npos);
  EXPECT_GE(Count(xml.out, "<heading level=\"3\">"), 3u);  // phases, failures, tasks
  // Rendered with raw HTML allowed, what tasks wrote is still text, and an escaped table cell
  // reads as written.
  Result html = RunProgram({"/usr/bin/cmark", "--unsafe", md.string()}, dir.path().string(), {});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_EQ(html.out.find("<b>x"), std::string::npos) << html.out;
  EXPECT_NE(html.out.find("test -f a || test -f b || test -f &quot;&lt;b&gt;&quot;"),
            std::string::npos)
      << html.out;
  EXPECT_NE(html.out.find("| Tasks | 3: 1 succeeded"), std::string::npos);  // a table row, kept
}

// The trace against a JSON schema of it (tests/trace.schema.json, python3-jsonschema); and the
// schema has teeth: a complete event without its duration fails.
TEST_F(ReportRun, TraceMatchesItsSchema) {
  fs::path trace = dir.path() / "run.trace.json";
  ASSERT_EQ(RunMex({"report", "m.yaml", "-o", trace.string()}, dir.path().string()).exit_code, 0);
  const std::string check =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n";
  auto validate = [&](const fs::path& file) {
    return RunProgram({"/usr/bin/python3", "-c", check, Source("tests/trace.schema.json").string(),
                       file.string()},
                      dir.path().string(), {});
  };
  Result good = validate(trace);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  json broken = json::parse(ReadFile(trace));
  for (json& e : broken["traceEvents"]) {
    if (e["ph"] == "X") {
      e.erase("dur");
      break;
    }
  }
  fs::path bad = dir.path() / "bad.trace.json";
  WriteFile(bad, broken.dump());
  Result rejected = validate(bad);
  EXPECT_NE(rejected.exit_code, 0);
  EXPECT_NE(rejected.err.find("'dur' is a required property"), std::string::npos) << rejected.err;
}

TEST(ReportTest, ManyTasksStayUnderTheStepSummaryLimitAndKeepTheirCounts) {
  TempDir dir;
  std::string yaml = "milestone: {id: big}\ndefaults: {max_parallel: 8}\ntasks:\n";
  for (int i = 0; i < 3000; ++i)
    yaml += "  - {id: task-number-" + std::to_string(i) + ", run: 'true'}\n";
  WriteFile(dir.path() / "m.yaml", yaml);
  Result run = RunMex({"run", "m.yaml", "--quiet"}, dir.path().string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  fs::path folder = RunFolder(dir);
  std::string md = ReadFile(folder / "report.md");
  EXPECT_LE(md.size(), kMarkdownLimit);
  EXPECT_NE(md.find("| Tasks | 3000: 3000 succeeded"), std::string::npos);
  EXPECT_NE(md.find("No task graph: 3000 tasks"), std::string::npos);
  json r = json::parse(ReadFile(folder / "report.json"));
  EXPECT_EQ(r["tasks"].size(), 3000u);
  // A smaller budget cuts the task table with a stated count, never the summary.
  std::string small =
      ReportMarkdown(nlohmann::ordered_json::parse(ReadFile(folder / "report.json")), 64 * 1024);
  EXPECT_LE(small.size(), 64u * 1024);
  EXPECT_NE(small.find("| Tasks | 3000: 3000 succeeded"), std::string::npos);
  EXPECT_NE(small.find("more tasks not shown (of 3000"), std::string::npos);
}

TEST(ReportTest, AnInterruptedRunGetsItsReport) {
  TempDir dir;
  fs::path marker = dir.path() / "started";
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: slow, run: 'touch " + marker.string() + "; sleep 30'}\n");
  std::string out = (dir.path() / "out.txt").string();
  pid_t mex = testing_util::StartMex({"run", "m.yaml", "--json"}, dir.path().string(), out);
  for (int i = 0; i < 400 && !fs::exists(marker); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(marker)) << "the task never started";
  kill(mex, SIGINT);
  EXPECT_EQ(testing_util::WaitMex(mex), 130);
  fs::path folder = RunFolder(dir);
  ASSERT_TRUE(fs::exists(folder / "report.md"));
  ASSERT_TRUE(fs::exists(folder / "report.html"));
  json r = json::parse(ReadFile(folder / "report.json"));
  EXPECT_EQ(r["run"]["state"], "interrupted");
  ASSERT_EQ(r["tasks"].size(), 1u);
  ASSERT_EQ(r["tasks"][0]["attempts"].size(), 1u);
  EXPECT_FALSE(r["interrupts"].empty());
}

// A no-op session (every task kept, every gate passed) after one that succeeded leaves the
// reports as they are, as a second `make` leaves its outputs; a session that runs a task writes
// them again, and so does a no-op session when one of them is gone.
TEST(ReportTest, ANoOpSessionLeavesTheReportsAndOneThatRunsATaskWritesThem) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml", "tasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true'}\n");
  auto run = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "m.yaml"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = RunMex(args, dir.path().string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  run();
  fs::path folder = RunFolder(dir);
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const char* name : {"report.md", "report.json", "report.html"}) {
    fs::last_write_time(folder / name, old);
  }
  run();  // a no-op
  for (const char* name : {"report.md", "report.json", "report.html"}) {
    EXPECT_EQ(fs::last_write_time(folder / name), old) << name;
  }
  run({"--force", "b"});
  json r = json::parse(ReadFile(folder / "report.json"));
  for (const auto& task : r["tasks"]) {
    EXPECT_EQ(task["attempts"].size(), task["id"] == "b" ? 2u : 1u) << task["id"];
  }
  fs::remove(folder / "report.md");
  run();  // a no-op, but a report is missing
  EXPECT_TRUE(fs::exists(folder / "report.md"));
}

TEST(ReportTest, NoRunExitsTwo) {
  TempDir dir;
  Result r = RunMex({"report"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("mex: "), std::string::npos);
  WriteFile(dir.path() / "m.yaml", "tasks:\n  - {id: a, run: 'true'}\n");
  ASSERT_EQ(RunMex({"run", "m.yaml", "--quiet"}, dir.path().string()).exit_code, 0);
  Result other = RunMex({"report", "m.yaml", "--run", "no-such-run"}, dir.path().string());
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("no run no-such-run"), std::string::npos);
}

TEST(ReportTest, MarkdownEscapesTextAndFencesOutlastBackticks) {
  EXPECT_EQ(MarkdownText("a|b <i>*x*</i>\nnext"), "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt; next");
  EXPECT_EQ(MarkdownFence("x\n````\ny"), "`````text\nx\n````\ny\n`````\n");
  EXPECT_EQ(MarkdownFence("plain"), "```text\nplain\n```\n");
}

}  // namespace
}  // namespace mex
