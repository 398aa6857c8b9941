#include "model/duration.h"

#include <gtest/gtest.h>

namespace mex {
namespace {

double Parse(std::string_view text) {
  double seconds = -1;
  std::string err;
  EXPECT_TRUE(ParseDuration(text, &seconds, &err)) << text << ": " << err;
  return seconds;
}

TEST(DurationTest, ReadsEveryUnitAndBareSeconds) {
  EXPECT_DOUBLE_EQ(Parse("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(Parse("30s"), 30);
  EXPECT_DOUBLE_EQ(Parse("5m"), 300);
  EXPECT_DOUBLE_EQ(Parse("2h"), 7200);
  EXPECT_DOUBLE_EQ(Parse("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(Parse("90"), 90);
  EXPECT_DOUBLE_EQ(Parse("1.5"), 1.5);
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (std::string_view bad : {"", "5x", "m", "-5s", "1h30", "5 m", "1e3s"}) {
    double seconds = 0;
    std::string err;
    EXPECT_FALSE(ParseDuration(bad, &seconds, &err)) << bad;
    EXPECT_NE(err.find("invalid duration"), std::string::npos);
  }
}

TEST(DurationTest, FormatReadsBack) {
  EXPECT_EQ(FormatDuration(5400), "1h30m");
  EXPECT_EQ(FormatDuration(0.25), "250ms");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_DOUBLE_EQ(Parse(FormatDuration(3725)), 3725);
}

TEST(DurationTest, FormatReadsBackDurationsTooLongForAnInteger) {
  // Found by fuzz_duration_size: "81816818168181688616886" (seconds) parses, and lround of it
  // gave LONG_MIN, formatted as "-9223372036854775808s", which is no duration.
  for (std::string_view text :
       {"81816818168181688616886", "99999999999999999999999d", "9100000000000000000"}) {
    double seconds = Parse(text);
    std::string formatted = FormatDuration(seconds);
    EXPECT_NEAR(Parse(formatted), seconds, seconds * 1e-12) << text << " as " << formatted;
  }
  EXPECT_EQ(FormatDuration(9.0e18), "2500000000000000h");
}

}  // namespace
}  // namespace mex
