#include "model/shell_template.h"

#include <gtest/gtest.h>

namespace mex {
namespace {

using C = ShellContext;

// The context of each placeholder of `script`, in order; fails the test on a problem.
std::vector<ShellContext> Contexts(std::string_view script) {
  std::vector<TemplatePiece> pieces;
  std::string err;
  size_t offset = 0;
  EXPECT_TRUE(ParseTemplate(script, &pieces, &err, &offset)) << err;
  std::vector<ShellContext> contexts;
  TemplateProblem problem;
  EXPECT_TRUE(ReadShellContexts(script, pieces, &contexts, &problem))
      << script << ": " << problem.message;
  std::vector<ShellContext> of_variables;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].is_variable) of_variables.push_back(contexts[i]);
  }
  return of_variables;
}

// The problem `script` has, or "".
std::string Problem(std::string_view script, size_t* offset = nullptr) {
  std::vector<TemplatePiece> pieces;
  std::string err;
  size_t parse_offset = 0;
  EXPECT_TRUE(ParseTemplate(script, &pieces, &err, &parse_offset)) << err;
  std::vector<ShellContext> contexts;
  TemplateProblem problem;
  if (ReadShellContexts(script, pieces, &contexts, &problem)) return "";
  if (offset) *offset = problem.offset;
  return problem.message;
}

TEST(ShellTemplateTest, FindsTheQuotingContextOfEachPlaceholder) {
  EXPECT_EQ(Contexts("echo {{task.id}} x{{task.id}}y"),
            (std::vector<C>{C::kUnquoted, C::kUnquoted}));
  EXPECT_EQ(Contexts("echo \"a {{task.id}} b\" 'c {{task.title}} d'"),
            (std::vector<C>{C::kDoubleQuoted, C::kSingleQuoted}));
  // Command substitution starts a new context, inside double quotes too.
  EXPECT_EQ(Contexts("echo \"$(printf %s {{task.id}})\" '$(x)' {{output}}"),
            (std::vector<C>{C::kUnquoted, C::kUnquoted}));
  EXPECT_EQ(Contexts("echo \"it's {{task.id}}\"; echo 'say \"{{task.id}}\"'"),
            (std::vector<C>{C::kDoubleQuoted, C::kSingleQuoted}));
  EXPECT_EQ(Contexts("ls # {{task.id}}\necho {{task.id}}"),
            (std::vector<C>{C::kComment, C::kUnquoted}));
  EXPECT_EQ(Contexts("cat <<EOF > out\n{{task.title}}\n  EOF\nEOF\necho {{task.id}}"),
            (std::vector<C>{C::kHereDocument, C::kUnquoted}));
  EXPECT_EQ(Contexts("cat <<-END\n\t{{task.title}}\n\tEND\necho '{{task.id}}'"),
            (std::vector<C>{C::kHereDocument, C::kSingleQuoted}));
  EXPECT_EQ(Contexts("grep x <<< {{task.id}} && git commit -m \"{{task.title}}\" 2>&1"),
            (std::vector<C>{C::kUnquoted, C::kDoubleQuoted}));
  EXPECT_EQ(Contexts("case {{task.id}} in a) echo \"{{task.id}}\";; esac"),
            (std::vector<C>{C::kUnquoted, C::kDoubleQuoted}));
  EXPECT_EQ(Contexts("[[ {{task.id}} == x* ]] && [ {{task.effort}} -eq 1 ]"),
            (std::vector<C>{C::kUnquoted, C::kUnquoted}));
  EXPECT_EQ(Contexts("x={{task.id}}; export Y=\"{{task.id}}\"; echo ${x:-$Y}"),
            (std::vector<C>{C::kUnquoted, C::kDoubleQuoted}));
  // A shell that runs a script with the value as an argument: data.
  EXPECT_EQ(Contexts("bash -c 'echo \"$1\"' _ {{task.title}}"), (std::vector<C>{C::kUnquoted}));
  EXPECT_EQ(Contexts("echo \\$ \\\" {{task.id}} $HOME ${HOME} $(( 1 + 2 )) \\\\{{task.id}}"),
            (std::vector<C>{C::kUnquoted, C::kUnquoted}));
}

TEST(ShellTemplateTest, RefusesPlaceholdersWhereAValueRunsAsCode) {
  struct Case {
    std::string_view script;
    std::string_view says;
  };
  const Case cases[] = {
      {"echo $(( {{task.effort}} + 1 ))", "arithmetic expression"},
      {"(( n = {{task.effort}} ))", "arithmetic expression"},
      {"for ((i = 0; i < {{task.effort}}; i++)); do :; done", "arithmetic expression"},
      {"echo $[ {{task.effort}} ]", "arithmetic expression"},
      {"echo ${x:-{{task.id}}}", "inside ${...}"},
      {"echo \"${a[{{task.id}}]}\"", "inside ${...}"},
      {"echo `echo {{task.id}}`", "write $(...) instead of backquotes"},
      {"echo \"`echo {{task.id}}`\"", "write $(...) instead of backquotes"},
      {"echo $'a{{task.id}}'", "inside $'...'"},
      {"cat <<'EOF'\n{{task.id}}\nEOF", "delimiter is quoted"},
      {"cat <<\\EOF\n{{task.id}}\nEOF", "delimiter is quoted"},
      {"cat <<{{task.id}}\nx\n", "delimiter of a here-document"},
      {"echo ${{task.id}}", "a '$' right before"},
      {"echo \"${{task.id}}\"", "a '$' right before"},
      {"echo \\{{task.id}}", "a backslash right before"},
      {"bash -c \"echo {{task.title}}\"", "run as code by bash -c"},
      {"sh -ec 'echo {{task.title}}'", "run as code by sh -c"},
      {"env FOO=1 bash -euo pipefail -c 'echo {{task.title}}'", "run as code by bash -c"},
      {"timeout 10 sh -c \"{{task.title}}\"", "run as code by sh -c"},
      {"x=1; eval \"echo {{task.title}}\"", "run as code by eval"},
      {"trap 'echo {{task.title}}' EXIT", "run as code by trap"},
      {"python3 -c \"print('{{task.title}}')\"", "run as code by python3 -c"},
      {"perl -ne 'print \"{{task.title}}\"'", "run as code by perl -e"},
      {"node --eval \"{{task.title}}\"", "run as code by node --eval"},
      {"awk '{print \"{{task.title}}\"}' f", "run as code by awk"},
      {"sed -e 's/x/{{task.title}}/' f", "run as code by sed -e"},
      {"ssh host \"echo {{task.title}}\"", "remote shell"},
      {"ssh {{task.title}} true", "remote shell"},
      {"let n={{task.effort}}", "let"},
      {"[[ {{task.effort}} -eq 1 ]]", "arithmetic comparison"},
      {"[[ -n x && {{task.effort}} -gt 1 ]]", "arithmetic comparison"},
      {"declare -i n={{task.effort}}", "integer variable"},
      {"declare -i n; n={{task.effort}}", "integer variable"},
      {"a[{{task.id}}]=1", "array subscript"},
      {"a[\"{{task.id}}\"]=1", "array subscript"},
      {"export {{task.id}}=1", "variable name"},
      {"unset {{task.id}}", "variable name"},
      {"printf -v {{task.id}} %s x", "variable name by printf"},
      {"read -r {{task.id}} < f", "variable name"},
  };
  for (const Case& c : cases) {
    size_t offset = 0;
    std::string message = Problem(c.script, &offset);
    EXPECT_NE(message.find(c.says), std::string::npos) << c.script << "\n  says: " << message;
    EXPECT_EQ(c.script.substr(offset, 2), "{{") << c.script;
  }
}

TEST(ShellTemplateTest, AcceptsWhatOnlyLooksLikeCode) {
  for (std::string_view script : {
           "read -r -p {{task.title}} line",
           "printf '%s\\n' {{task.title}} | sed 's/a/b/'",
           "awk -v t={{task.title}} 'BEGIN {print t}'",
           "python3 script.py {{task.title}}",
           "python3 -c 'import sys; print(sys.argv[1])' {{task.title}}",
           "bash -c 'echo \"$1\"' bash {{task.title}}",
           "ssh host make",
           "echo {{task.id}} # eval {{task.id}}",
           "f() { echo \"$1\"; }; f {{task.title}}",
           "declare -r X={{task.title}}",
           "n=$(( 1 + 2 )); echo \"{{task.title}}\" $n",
           "git commit -m \"{{task.title}}\" -m '{{task.description}}'",
       }) {
    EXPECT_EQ(Problem(script), "") << script;
  }
}

TEST(ShellTemplateTest, NamesTheVariableThatCarriesEachValue) {
  EXPECT_EQ(ValueVariableName("task.title"), "MEX_TASK_TITLE");
  EXPECT_EQ(ValueVariableName("milestone.goal"), "MEX_MILESTONE_GOAL");
  EXPECT_EQ(ValueVariableName("attempt.number"), "MEX_ATTEMPT");
  EXPECT_EQ(ValueVariableName("attempt.last_error"), "MEX_LAST_ERROR");
  EXPECT_EQ(ValueVariableName("output"), "MEX_OUTPUT");
  EXPECT_EQ(ValueVariableName("artifact.design-keep.v2"), "MEX_ARTIFACT_DESIGN_KEEP_V2");
  EXPECT_EQ(ShellReference(C::kUnquoted, "MEX_X"), "\"${MEX_X}\"");
  EXPECT_EQ(ShellReference(C::kDoubleQuoted, "MEX_X"), "${MEX_X}");
  EXPECT_EQ(ShellReference(C::kSingleQuoted, "MEX_X"), "'\"${MEX_X}\"'");
  EXPECT_EQ(ShellReference(C::kHereDocument, "MEX_X"), "${MEX_X}");
}

}  // namespace
}  // namespace mex
