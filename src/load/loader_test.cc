#include "load/loader.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mex {
namespace {

TEST(LoaderTest, YamlAndJsonGiveTheSameModel) {
  const char* yaml = R"(
milestone: {id: M-7, title: Limits}
defaults: {agent: claude, timeout: 1h30m, retry: {max_attempts: 4, backoff: {initial: 250ms}}}
tasks:
  - {id: a, prompt: "Do {{task.id}}", output: {path: out/a.json, schema: kiro}}
  - {id: b, run: [make, b], deps: [a], effort: 2.5, env: {X: "1"}}
)";
  const char* json = R"({"milestone": {"id": "M-7", "title": "Limits"},
  "defaults": {"agent": "claude", "timeout": "1h30m",
               "retry": {"max_attempts": 4, "backoff": {"initial": "250ms"}}},
  "tasks": [
    {"id": "a", "prompt": "Do {{task.id}}", "output": {"path": "out/a.json", "schema": "kiro"}},
    {"id": "b", "run": ["make", "b"], "deps": ["a"], "effort": 2.5, "env": {"X": "1"}}]})";
  for (const auto& [name, text] : {std::pair{"m.yaml", yaml}, std::pair{"m.json", json}}) {
    SCOPED_TRACE(name);
    Milestone m;
    Diagnostics diags(name);
    ASSERT_TRUE(LoadMilestoneFromString(name, text, &m, &diags)) << diags.Format();
    EXPECT_EQ(m.id, "M-7");
    EXPECT_EQ(m.title, "Limits");
    EXPECT_DOUBLE_EQ(m.defaults.timeout_s, 5400);
    EXPECT_EQ(m.defaults.retry.max_attempts, 4);
    EXPECT_DOUBLE_EQ(m.defaults.retry.backoff.initial_s, 0.25);
    EXPECT_DOUBLE_EQ(m.defaults.retry.backoff.factor, 2);  // the default stays
    EXPECT_DOUBLE_EQ(m.defaults.stall_after_s, 300);       // 5m, the format's promise
    ASSERT_EQ(m.phases.size(), 1u);
    EXPECT_TRUE(m.implicit_phase);
    EXPECT_EQ(m.phases[0].name, "execute");
    EXPECT_DOUBLE_EQ(m.phases[0].weight, 100);
    ASSERT_EQ(m.tasks.size(), 2u);
    EXPECT_EQ(m.tasks[0].details()->prompt, "Do {{task.id}}");
    EXPECT_EQ(m.tasks[0].details()->output.schema, Schema::kKiro);
    EXPECT_TRUE(m.tasks[1].run.is_argv);
    EXPECT_EQ(m.tasks[1].run.argv, (std::vector<std::string>{"make", "b"}));
    EXPECT_DOUBLE_EQ(m.tasks[1].effort, 2.5);
    ASSERT_EQ(m.tasks[1].deps.size(), 1u);
    EXPECT_EQ(m.symbols.Name(m.tasks[1].deps[0].symbol), "a");
    EXPECT_EQ(m.tasks[1].details()->env.at(0), (std::pair<std::string, std::string>{"X", "1"}));
  }
}

TEST(LoaderTest, TaskRetryOverridesDefaultsWrittenAfterIt) {
  // JSON is read front to back: the task's retry must still inherit what `defaults` says later.
  Milestone m;
  Diagnostics diags("r.json");
  ASSERT_TRUE(LoadMilestoneFromString(
      "r.json",
      R"({"tasks": [{"id": "a", "run": "x", "retry": {"backoff": {"initial": "1s"}}}],
          "defaults": {"retry": {"max_attempts": 5, "backoff": {"factor": 3}}}})",
      &m, &diags))
      << diags.Format();
  const RetryPolicy& retry = *m.tasks[0].details()->retry;
  EXPECT_EQ(retry.max_attempts, 5);
  EXPECT_DOUBLE_EQ(retry.backoff.initial_s, 1);
  EXPECT_DOUBLE_EQ(retry.backoff.factor, 3);
  EXPECT_DOUBLE_EQ(retry.backoff.max_s, 300);
}

TEST(LoaderTest, JsonPositionsPointAtTheValue) {
  Milestone m;
  Diagnostics diags("p.json");
  EXPECT_FALSE(LoadMilestoneFromString(
      "p.json", "{\"tasks\": [\n  {\"id\": \"a\", \"run\": \"x\",\n   \"deps\": [\"nope\"]}]}", &m,
      &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags.errors()[0].pos.line, 3u);
  EXPECT_EQ(diags.errors()[0].pos.col, 13u);
}

TEST(LoaderTest, JsonStringsWithEscapesAreUnescaped) {
  Milestone m;
  Diagnostics diags("e.json");
  ASSERT_TRUE(LoadMilestoneFromString(
      "e.json", R"({"tasks": [{"id": "a", "run": "echo \"hi\"\n", "title": "caf\u00e9"}]})", &m,
      &diags))
      << diags.Format();
  EXPECT_EQ(m.tasks[0].run.shell, "echo \"hi\"\n");
  EXPECT_EQ(m.tasks[0].details()->title, "caf\xc3\xa9");
}

TEST(LoaderTest, ReportsEveryErrorOfTheFileSortedByLine) {
  Milestone m;
  Diagnostics diags("many.yaml");
  EXPECT_FALSE(LoadMilestoneFromString("many.yaml", R"(tasks:
  - {id: a, run: x, dpes: [b]}
  - {id: a, run: y}
  - {id: c, run: z, timeout: soon}
)",
                                       &m, &diags));
  std::string text = diags.Format();
  EXPECT_EQ(text,
            "many.yaml:2:21: error: unknown key 'dpes' in task (did you mean 'deps'?)\n"
            "many.yaml:3:10: error: duplicate task id 'a' (first defined at line 2)\n"
            "many.yaml:4:30: error: timeout: invalid duration 'soon' (expected e.g. 250ms, 30s, "
            "5m, 2h, 1h30m or seconds)\n");
}

TEST(LoaderTest, FilesAreReadAsWrittenInYamlAndJson) {
  const char* yaml = R"(tasks:
  - {id: api, run: x, files: [src/api/*.py, docs/api.md, "**/*.pyi", src/db/]}
  - {id: none, run: y, files: []}
  - {id: plain, run: z}
)";
  const char* json = R"({"tasks": [
  {"id": "api", "run": "x", "files": ["src/api/*.py", "docs/api.md", "**/*.pyi", "src/db/"]},
  {"id": "none", "run": "y", "files": []},
  {"id": "plain", "run": "z"}]})";
  for (const auto& [name, text] : {std::pair{"f.yaml", yaml}, std::pair{"f.json", json}}) {
    SCOPED_TRACE(name);
    Milestone m;
    Diagnostics diags(name);
    ASSERT_TRUE(LoadMilestoneFromString(name, text, &m, &diags)) << diags.Format();
    EXPECT_EQ(m.tasks[0].details()->files,
              (std::vector<std::string>{"src/api/*.py", "docs/api.md", "**/*.pyi", "src/db/"}));
    EXPECT_TRUE(m.tasks[1].details()->files.empty());
    EXPECT_EQ(m.tasks[2].details(), nullptr);  // a task without files costs no detail
  }
}

TEST(LoaderTest, BadFilesAreErrorsAtTheEntryThatIsWrong) {
  Milestone m;
  Diagnostics diags("f.yaml");
  EXPECT_FALSE(LoadMilestoneFromString("f.yaml", R"(tasks:
  - {id: a, run: x, files: [src/a.py, /abs/b.py]}
  - {id: b, run: x, files: [ok.md, ../up.md, src/../../x]}
  - {id: c, run: x, files: src/c.py}
  - id: d
    run: x
    files:
      - {path: src/d.py}
      - ""
)",
                                       &m, &diags));
  EXPECT_EQ(diags.Format(),
            "f.yaml:2:39: error: files entry '/abs/b.py' is absolute: write it relative to the "
            "workspace\n"
            "f.yaml:3:36: error: files entry '../up.md' leaves the workspace: write it without "
            "'..'\n"
            "f.yaml:3:46: error: files entry 'src/../../x' leaves the workspace: write it without "
            "'..'\n"
            "f.yaml:4:28: error: 'files' must be a list of paths or globs, e.g. [src/api/*.py, "
            "docs/api.md]\n"
            "f.yaml:8:9: error: a files entry must be a string\n"
            "f.yaml:9:9: error: files entry '' is empty\n");
}

TEST(LoaderTest, PatternsRe2CannotExpressAreErrorsAtTheirPosition) {
  // RE2 matches in linear time because it leaves out what needs backtracking.
  for (const char* name : {"bad.yaml", "bad.json"}) {
    SCOPED_TRACE(name);
    bool json = std::string(name) == "bad.json";
    std::string text =
        json ? "{\"classify\": [\n  {\"pattern\": \"(a)\\\\1\", \"class\": \"logic\"},\n"
               "  {\"class\": \"logic\", \"pattern\": \"x(?=y)\"}],\n"
               " \"tasks\": [{\"id\": \"a\", \"run\": \"x\"}]}"
             : "classify:\n  - {pattern: '(a)\\1', class: logic}\n"
               "  - {class: logic, pattern: 'x(?=y)'}\ntasks: [{id: a, run: x}]\n";
    Milestone m;
    Diagnostics diags(name);
    EXPECT_FALSE(LoadMilestoneFromString(name, text, &m, &diags));
    ASSERT_EQ(diags.size(), 2u) << diags.Format();
    const char* hint =
        " (RE2 syntax has no backreferences, lookahead or lookbehind, which can take exponential "
        "time: rewrite the pattern without them)";
    EXPECT_EQ(diags.errors()[0].pos.line, 2u);
    EXPECT_EQ(diags.errors()[0].pos.col, 15u);  // the value's opening quote
    EXPECT_EQ(diags.errors()[0].message,
              std::string("invalid pattern '(a)\\1': invalid escape sequence: \\1") + hint);
    EXPECT_EQ(diags.errors()[1].pos.line, 3u);
    EXPECT_EQ(diags.errors()[1].pos.col, json ? 33u : 29u);
    EXPECT_EQ(diags.errors()[1].message,
              std::string("invalid pattern 'x(?=y)': invalid perl operator: (?=") + hint);
  }
}

TEST(LoaderTest, PatternIsCompiledByTheLoader) {
  Milestone m;
  Diagnostics diags("p.yaml");
  ASSERT_TRUE(LoadMilestoneFromString(
      "p.yaml",
      "classify: [{pattern: 'a+b', class: logic}, {exit: 1, class: logic}]\n"
      "tasks: [{id: a, run: x}]\n",
      &m, &diags))
      << diags.Format();
  ASSERT_EQ(m.classify.size(), 2u);
  EXPECT_NE(m.classify[0].regex, nullptr);
  EXPECT_EQ(m.classify[1].regex, nullptr);  // no pattern
}

TEST(LoaderTest, YamlErrorPastTheEndOfTheTextIsAtItsEnd) {
  // Found by fuzz_loader_yaml: yaml-cpp put "unknown escape character" of these 3 bytes, which
  // are not UTF-8, at 1:5, past the end of the file.
  Milestone m;
  Diagnostics diags("x.yaml");
  EXPECT_FALSE(LoadMilestoneFromString("x.yaml", std::string("t\xff\0", 3), &m, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags.errors()[0].pos.line, 1u);
  EXPECT_EQ(diags.errors()[0].pos.col, 4u);
}

// n phases that are aliases of one phase of n tasks that are aliases of one task of n deps:
// n^3 nodes for the decoder from 13 n bytes.
std::string NestedAliases(int n) {
  std::string deps = "a";
  for (int i = 1; i < n; ++i) deps += ",a";
  std::string text =
      "phases:\n  - &p {name: p, weight: 1, tasks: [&t {id: a, run: x, deps: [" + deps + "]}";
  for (int i = 1; i < n; ++i) text += ", *t";
  text += "]}\n";
  for (int i = 1; i < n; ++i) text += "  - *p\n";
  return text;
}

TEST(LoaderTest, AliasesThatStandForMillionsOfNodesAreRefused) {
  // Found while fuzzing (not by the 10-minute run): 2.6 KB of nested aliases took `mex validate`
  // 3.7 s and 150 MB, and 10 KB would take minutes and gigabytes.
  for (const std::string& text : {NestedAliases(200), std::string("tasks: []\nx: &a [*a]\n")}) {
    Milestone m;
    Diagnostics diags("a.yaml");
    EXPECT_FALSE(LoadMilestoneFromString("a.yaml", text, &m, &diags));
    ASSERT_EQ(diags.size(), 1u) << diags.Format();
    EXPECT_EQ(diags.Format(),
              "a.yaml: error: its aliases (*name) expand to more than 262144 YAML nodes; write "
              "out what they repeat\n");
  }
}

TEST(LoaderTest, AliasesWithinReasonAreRead) {
  Milestone m;
  Diagnostics diags("a.yaml");
  EXPECT_TRUE(LoadMilestoneFromString("a.yaml", R"(tasks:
  - {id: a, run: x, env: &env {A: "1", B: "2"}}
  - {id: b, run: y, env: *env}
)",
                                      &m, &diags))
      << diags.Format();
  EXPECT_EQ(m.tasks[1].details()->env.size(), 2u);
  // 8000 nodes: decoded, and wrong for what they say (a phase name 20 times), not for their size.
  Diagnostics nested("n.yaml");
  EXPECT_FALSE(LoadMilestoneFromString("n.yaml", NestedAliases(20), &m, &nested));
  EXPECT_EQ(nested.Format().find("aliases"), std::string::npos);
  EXPECT_NE(nested.Format().find("duplicate phase name 'p'"), std::string::npos);
}

TEST(LoaderTest, HugeOrDeeplyNestedClassifyPatternsAreRead) {
  // Found while writing the YAML target: std::regex compiled by recursion, and a pattern of 90000
  // bytes (30000 nested groups) crashed `mex validate` with a stack overflow. RE2 parses and
  // compiles without recursion: both load.
  for (const std::string& pattern :
       {std::string(90000, 'a'), std::string(30000, '(') + std::string(30000, ')')}) {
    Milestone m;
    Diagnostics diags("c.yaml");
    EXPECT_TRUE(LoadMilestoneFromString(
        "c.yaml",
        "classify: [{pattern: \"" + pattern + "\", class: logic}]\ntasks: [{id: a, run: x}]\n", &m,
        &diags))
        << diags.Format().substr(0, 200);
  }
}

TEST(LoaderTest, SymbolTableInternsOnce) {
  SymbolTable symbols;
  uint32_t a = symbols.Intern("alpha");
  uint32_t b = symbols.Intern("beta");
  EXPECT_NE(a, b);
  EXPECT_EQ(symbols.Intern("alpha"), a);
  EXPECT_EQ(symbols.Find("beta"), b);
  EXPECT_EQ(symbols.Find("gamma"), SymbolTable::kNone);
  for (int i = 0; i < 5000; ++i) symbols.Intern("id" + std::to_string(i));  // grows the table
  EXPECT_EQ(symbols.Find("alpha"), a);
  EXPECT_EQ(symbols.Name(symbols.Find("id4999")), "id4999");
  uint32_t huge = symbols.Intern(std::string(3 << 20, 'x'));  // larger than an arena chunk
  EXPECT_EQ(symbols.Name(huge).size(), size_t{3} << 20);
  EXPECT_EQ(symbols.Find(std::string(3 << 20, 'x')), huge);
  EXPECT_EQ(symbols.Find("alpha"), a);
}

}  // namespace
}  // namespace mex

namespace mex {
namespace {

TEST(LoaderTest, SlurmPlacementResourcesAndTheSlurmBlock) {
  Milestone m;
  Diagnostics diags("s.yaml");
  ASSERT_TRUE(LoadMilestoneFromString("s.yaml", R"(
slurm: {partition: short, account: lab7, qos: normal, args: [--constraint=avx2], arrays: true,
        array_limit: 20}
defaults: {executor: local}
phases:
  - name: write
    weight: 50
    tasks: [{id: a, run: x}]
  - name: check
    weight: 50
    executor: slurm
    tasks:
      - {id: b, run: x, resources: {cpus: 4, mem: 2G, time: 1h, gpus: 1, mem_retry_factor: 2}}
      - {id: c, run: x, executor: local}
)",
                                      &m, &diags))
      << diags.Format();
  EXPECT_EQ(m.slurm.partition, "short");
  EXPECT_EQ(m.slurm.account, "lab7");
  EXPECT_EQ(m.slurm.qos, "normal");
  EXPECT_EQ(m.slurm.args, (std::vector<std::string>{"--constraint=avx2"}));
  EXPECT_TRUE(m.slurm.arrays);
  EXPECT_EQ(m.slurm.array_limit, 20);
  Milestone plain;
  ASSERT_TRUE(LoadMilestoneFromString(
      "p.yaml", "slurm: {arrays: false}\ntasks: [{id: a, run: x}]\n", &plain, &diags))
      << diags.Format();
  EXPECT_FALSE(plain.slurm.arrays);
  EXPECT_TRUE(Milestone{}.slurm.arrays);  // on unless turned off
  EXPECT_EQ(m.ExecutorOf(m.tasks[0]), ExecutorKind::kLocal);
  EXPECT_EQ(m.ExecutorOf(m.tasks[1]), ExecutorKind::kSlurm);  // its phase's
  EXPECT_EQ(m.ExecutorOf(m.tasks[2]), ExecutorKind::kLocal);  // its own
  EXPECT_TRUE(m.UsesSlurm());
  const Resources& r = m.tasks[1].details()->resources;
  EXPECT_EQ(r.cpus, 4);
  EXPECT_EQ(r.gpus, 1);
  EXPECT_EQ(r.mem, "2G");
  EXPECT_DOUBLE_EQ(r.time_s, 3600);
  EXPECT_DOUBLE_EQ(r.mem_retry_factor, 2);
}

TEST(LoaderTest, BadSlurmFieldsAreErrorsAtTheirPosition) {
  Milestone m;
  Diagnostics diags("s.yaml");
  EXPECT_FALSE(LoadMilestoneFromString("s.yaml", R"(slurm: {partition: a, queue: b}
phases:
  - {name: p, executor: cloud, tasks: [{id: a, run: x}], weight: 50}
  - name: q
    weight: 50
    tasks:
      - {id: b, run: x, resources: {gpus: -1, mem_retry_factor: 0.5, mem: lots}}
)",
                                       &m, &diags));
  EXPECT_EQ(diags.Format(),
            "s.yaml:1:23: error: unknown key 'queue' in 'slurm'\n"
            "s.yaml:3:25: error: invalid executor 'cloud' (expected one of: local, slurm)\n"
            "s.yaml:7:43: error: gpus must be a whole number >= 0\n"
            "s.yaml:7:65: error: mem_retry_factor must be between 1 and 16\n"
            "s.yaml:7:75: error: invalid size 'lots' (expected e.g. 512M, 4G or a number of "
            "bytes)\n");
  Milestone other;
  Diagnostics arrays("a.yaml");
  EXPECT_FALSE(LoadMilestoneFromString(
      "a.yaml", "slurm: {arrays: yes please, array_limit: 0}\ntasks: [{id: a, run: x}]\n", &other,
      &arrays));
  EXPECT_EQ(arrays.Format(),
            "a.yaml:1:17: error: arrays must be true or false\n"
            "a.yaml:1:42: error: array_limit must be a whole number >= 1\n");
}

}  // namespace
}  // namespace mex
