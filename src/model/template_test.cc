#include "model/template.h"

#include <gtest/gtest.h>

namespace mex {
namespace {

TEST(TemplateTest, SplitsTextAndVariables) {
  std::vector<TemplatePiece> pieces;
  std::string err;
  size_t offset = 0;
  ASSERT_TRUE(ParseTemplate("Implement {{ task.id }}: {{task.title}}!", &pieces, &err, &offset));
  ASSERT_EQ(pieces.size(), 5u);
  EXPECT_FALSE(pieces[0].is_variable);
  EXPECT_EQ(pieces[1].text, "task.id");
  EXPECT_TRUE(pieces[1].is_variable);
  EXPECT_EQ(pieces[3].text, "task.title");
  EXPECT_EQ(pieces[4].text, "!");
}

TEST(TemplateTest, ReportsUnclosedBraces) {
  std::vector<TemplatePiece> pieces;
  std::string err;
  size_t offset = 0;
  EXPECT_FALSE(ParseTemplate("abc {{task.id", &pieces, &err, &offset));
  EXPECT_EQ(offset, 4u);
  EXPECT_NE(err.find("unclosed"), std::string::npos);
}

TEST(TemplateTest, KnowsTheSpecVariables) {
  std::string_view artifact;
  for (std::string_view name : {"milestone.id", "run.id", "timestamp", "phase.name", "task.effort",
                                "output", "attempt.last_error", "gate.missing"}) {
    EXPECT_TRUE(IsKnownVariable(name, &artifact)) << name;
  }
  EXPECT_TRUE(IsKnownVariable("artifact.spec", &artifact));
  EXPECT_EQ(artifact, "spec");
  EXPECT_FALSE(IsKnownVariable("artifact.", &artifact));
  EXPECT_FALSE(IsKnownVariable("task.name", &artifact));
}

TEST(TemplateTest, RendersValuesAsTheyAre) {
  std::vector<TemplatePiece> pieces;
  std::string err;
  size_t offset = 0;
  ASSERT_TRUE(ParseTemplate("Fix {{task.title}}.", &pieces, &err, &offset));
  std::string out =
      RenderTemplate(pieces, [](std::string_view) { return std::string("it's $(rm -rf /)"); });
  EXPECT_EQ(out, "Fix it's $(rm -rf /).");
}

TEST(TemplateTest, ShellQuoteKeepsAnyValueOneWord) {
  EXPECT_EQ(ShellQuote("it's $(rm -rf /)"), "'it'\\''s $(rm -rf /)'");
}

}  // namespace
}  // namespace mex
