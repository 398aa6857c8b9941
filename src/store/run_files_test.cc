// ReadTail: the end of an attempt's log, as failure reports and agent results read it.
#include "store/run_files.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace mex {
namespace {

class ReadTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "mex-tail-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(ReadTailTest, SmallerFileIsReadWhole) {
  EXPECT_EQ(ReadTail(Write("small.log", "hello\nworld\n"), 4096), "hello\nworld\n");
}

TEST_F(ReadTailTest, LargerFileGivesItsLastBytes) {
  std::string text(10000, 'x');
  text += "the end\n";
  std::string tail = ReadTail(Write("big.log", text), 100);
  ASSERT_EQ(tail.size(), 100u);
  EXPECT_EQ(tail, text.substr(text.size() - 100));
}

TEST_F(ReadTailTest, TailDoesNotStartInsideAUtf8Sequence) {
  std::string text = "aaaa\xC3\xA9z";  // "é" cut after its first byte
  EXPECT_EQ(ReadTail(Write("utf8.log", text), 2), "z");
}

TEST_F(ReadTailTest, MissingFileIsEmpty) {
  EXPECT_EQ(ReadTail(dir_ + "/none.log", 100), "");
}

TEST_F(ReadTailTest, SymlinkIsNotFollowed) {
  std::string target = Write("target.log", "secret");
  std::filesystem::create_symlink(target, dir_ + "/link.log");
  EXPECT_EQ(ReadTail(dir_ + "/link.log", 100), "");
}

}  // namespace
}  // namespace mex
