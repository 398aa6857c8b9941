#include "exec/direct_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace mex {
namespace {

std::vector<std::string> Words(std::string_view script) {
  std::vector<std::string> words;
  if (!SplitSimpleCommand(script, &words)) return {"<shell>"};
  return words;
}

TEST(SplitSimpleCommandTest, PlainWordsSplitOnBlanks) {
  EXPECT_EQ(Words("true"), (std::vector<std::string>{"true"}));
  EXPECT_EQ(Words("echo a b"), (std::vector<std::string>{"echo", "a", "b"}));
  EXPECT_EQ(Words("  cc\t-c  src/mul.c -o out/mul.o -DX=1 "),
            (std::vector<std::string>{"cc", "-c", "src/mul.c", "-o", "out/mul.o", "-DX=1"}));
  EXPECT_EQ(Words("./build.sh --jobs=2 a,b c:d e@f 50% +x"),
            (std::vector<std::string>{"./build.sh", "--jobs=2", "a,b", "c:d", "e@f", "50%", "+x"}));
}

TEST(SplitSimpleCommandTest, ShellSyntaxGoesThroughTheShell) {
  for (std::string_view script : {"",
                                  "   ",
                                  "true;",
                                  "a | b",
                                  "a && b",
                                  "a || b",
                                  "a &",
                                  "a > f",
                                  "a < f",
                                  "a 2>&1",
                                  "echo $HOME",
                                  "echo ${X}",
                                  "echo `date`",
                                  "echo $(date)",
                                  "echo 'a b'",
                                  "echo \"a\"",
                                  "echo a\\ b",
                                  "ls *.c",
                                  "ls ?.c",
                                  "ls [ab].c",
                                  "cd ~",
                                  "echo a # c",
                                  "(true)",
                                  "{ true; }",
                                  "X=1 env",
                                  "a\nb",
                                  "echo caf\xc3\xa9",
                                  "echo !x",
                                  "echo a^b"}) {
    EXPECT_EQ(Words(script), std::vector<std::string>{"<shell>"}) << script;
  }
}

TEST(SplitSimpleCommandTest, BuiltinsGoThroughTheShell) {
  for (std::string_view script :
       {"cd /tmp",   "export X",  "exit 3",  "exec true",   "test -f x",
        "[ -f x ]",  "printf x",  "pwd",     "kill 1",      "umask 077",
        "set -e",    "eval true", ". ./env", ": x",         "read x",
        "wait",      "if",        "!",       "true --help", "false --version",
        "echo -n a", "echo -e a"}) {
    EXPECT_EQ(Words(script), std::vector<std::string>{"<shell>"}) << script;
  }
  // dash runs these as builtins; their programs do the same with plain arguments.
  EXPECT_EQ(Words("true"), std::vector<std::string>{"true"});
  EXPECT_EQ(Words("false x"), (std::vector<std::string>{"false", "x"}));
  EXPECT_EQ(Words("echo a b"), (std::vector<std::string>{"echo", "a", "b"}));
}

TEST(ProgramPathsTest, FirstExecutableInPathOnceAndNoneForRelativeFolders) {
  ProgramPaths paths;
  EXPECT_EQ(paths.Find("/nonexistent:/usr/bin:/bin", "true"), "/usr/bin/true");
  EXPECT_EQ(paths.Find("/bin:/usr/bin", "true"), "/bin/true");
  EXPECT_EQ(paths.Find("/usr/bin", "mex-no-such-program"), "");
  EXPECT_EQ(paths.Find("bin:/usr/bin", "true"), "");  // relative: the shell finds it
  EXPECT_EQ(paths.Find("/usr/bin::/bin", "mex-no-such-program"), "");
}

TEST(DirectCommandTest, OnlyShDashCOfASimpleCommandWithAPath) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "PWD=/tmp"};
  ProgramPaths paths;
  DirectCommand direct;
  if (!ShellIsDash()) GTEST_SKIP() << "/bin/sh is not dash";
  ASSERT_TRUE(direct.Resolve({"/bin/sh", "-c", "echo a b"}, &env, "/tmp", &paths));
  EXPECT_EQ(direct.program, "/usr/bin/echo");
  EXPECT_EQ(direct.words, (std::vector<std::string>{"echo", "a", "b"}));
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "PWD=/tmp"}));
  EXPECT_FALSE(direct.Resolve({"/bin/sh", "-ec", "true"}, &env, "/tmp", &paths));
  EXPECT_FALSE(direct.Resolve({"/bin/bash", "-c", "true"}, &env, "/tmp", &paths));
  EXPECT_FALSE(direct.Resolve({"/bin/sh", "-c", "true;"}, &env, "/tmp", &paths));
  EXPECT_FALSE(direct.Resolve({"/bin/sh", "-c", "mex-no-such-program"}, &env, "/tmp", &paths));
  // dash sets IFS, OPTIND and PPID itself; no PATH: dash's default.
  std::vector<std::string> ifs = {"PATH=/usr/bin", "IFS=x"};
  EXPECT_FALSE(direct.Resolve({"/bin/sh", "-c", "true"}, &ifs, "/tmp", &paths));
  std::vector<std::string> no_path = {"HOME=/tmp"};
  EXPECT_FALSE(direct.Resolve({"/bin/sh", "-c", "true"}, &no_path, "/tmp", &paths));
}

TEST(DirectCommandTest, PwdAsDashExportsIt) {
  if (!ShellIsDash()) GTEST_SKIP() << "/bin/sh is not dash";
  ProgramPaths paths;
  DirectCommand direct;
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "PWD=/nonexistent"};
  ASSERT_TRUE(direct.Resolve({"/bin/sh", "-c", "true"}, &env, "/", &paths));
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "PWD=/"}));
  std::vector<std::string> none = {"PATH=/usr/bin:/bin"};
  ASSERT_TRUE(direct.Resolve({"/bin/sh", "-c", "true"}, &none, "/usr/../", &paths));
  EXPECT_EQ(none, (std::vector<std::string>{"PATH=/usr/bin:/bin", "PWD=/"}));
  // The same folder by another name is kept, as dash keeps it.
  std::vector<std::string> same = {"PATH=/usr/bin:/bin", "PWD=/usr/../"};
  ASSERT_TRUE(direct.Resolve({"/bin/sh", "-c", "true"}, &same, "/", &paths));
  EXPECT_EQ(same, (std::vector<std::string>{"PATH=/usr/bin:/bin", "PWD=/usr/../"}));
}

}  // namespace
}  // namespace mex
