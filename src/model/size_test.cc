#include "model/size.h"

#include <gtest/gtest.h>

namespace mex {
namespace {

TEST(SizeTest, ReadsEveryUnitAndBareBytes) {
  double bytes = -1;
  std::string err;
  ASSERT_TRUE(ParseSize("512M", &bytes, &err)) << err;
  EXPECT_DOUBLE_EQ(bytes, 512.0 * 1024 * 1024);
  ASSERT_TRUE(ParseSize("4G", &bytes, &err)) << err;
  EXPECT_DOUBLE_EQ(bytes, 4.0 * 1024 * 1024 * 1024);
  ASSERT_TRUE(ParseSize("1T", &bytes, &err)) << err;
  EXPECT_DOUBLE_EQ(bytes, 1024.0 * 1024 * 1024 * 1024);
  ASSERT_TRUE(ParseSize("1000", &bytes, &err)) << err;
  EXPECT_DOUBLE_EQ(bytes, 1000);
}

TEST(SizeTest, RejectsWhatIsNotASize) {
  for (std::string_view bad : {"", "M", "5X", "-1", "4 G", "4g"}) {
    double bytes = 0;
    std::string err;
    EXPECT_FALSE(ParseSize(bad, &bytes, &err)) << bad;
    EXPECT_NE(err.find("invalid size"), std::string::npos) << bad;
  }
}

TEST(SizeTest, RejectsNumbersThatAreNotFinite) {
  // Found by fuzz_duration_size: from_chars reads "nan" and "inf", and ParseSize took them
  // (resource_wait: {memory: nan} waited for memory that no amount satisfies).
  for (std::string_view bad : {"nan", "inf", "infinity", "NAN", "nanM", "infG", "1e308T"}) {
    double bytes = 0;
    std::string err;
    EXPECT_FALSE(ParseSize(bad, &bytes, &err)) << bad;
    EXPECT_NE(err.find("invalid size"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace mex
