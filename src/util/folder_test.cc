// Folder: every file operation of mex under its state folder and its workspace resolves beneath
// the folder without following a symlink, and never blocks on a FIFO (docs/security.md). Each
// test runs twice: with openat2, and with the component walk used where the kernel lacks it.
#include "util/folder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFile;
using testing_util::TempDir;
using testing_util::WriteFile;

class FolderTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    Folder::UseOpenat2ForTesting(GetParam());
    fs::create_directories(Root());
    std::string err;
    ASSERT_TRUE(Folder::Open(Root().string(), false, &folder_, &err)) << err;
  }
  void TearDown() override { Folder::UseOpenat2ForTesting(true); }

  fs::path Root() const { return dir_.path() / "state"; }
  fs::path Outside() const { return dir_.path() / "outside"; }
  // artifacts/design, made a symlink to a folder outside, as a task could.
  void PlantFolderLink() const {
    fs::create_directories(Outside());
    WriteFile(Outside() / "keep.json", "precious");
    fs::create_directories(Root() / "artifacts");
    fs::create_directory_symlink(Outside(), Root() / "artifacts" / "design");
  }

  TempDir dir_;
  Folder folder_;
};

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, FolderTest, ::testing::Bool(),
                         [](const auto& param) { return param.param ? "openat2" : "walk"; });

TEST_P(FolderTest, ReadsWritesAndRemovesBeneathItself) {
  std::string err;
  ASSERT_TRUE(folder_.MakeFolders("runs/r1/logs/a", &err)) << err;
  ASSERT_TRUE(folder_.WriteAtomically("runs/r1/status.json", "{}", &err)) << err;
  EXPECT_EQ(folder_.ReadFile((Root() / "runs/r1/status.json").string()), "{}");
  EXPECT_EQ(fs::status(Root() / "runs" / "r1" / "logs").permissions() & fs::perms::all,
            fs::perms::owner_all);
  ASSERT_TRUE(folder_.RemoveFile("runs/r1/status.json", &err)) << err;
  EXPECT_FALSE(fs::exists(Root() / "runs/r1/status.json"));
  EXPECT_TRUE(folder_.RemoveFile("runs/r1/none.json", &err)) << err;  // missing: no error
  EXPECT_TRUE(folder_.RemoveFile("runs/none/x.json", &err)) << err;
}

TEST_P(FolderTest, ASymlinkedFolderOnTheWayIsNeverFollowed) {
  PlantFolderLink();
  std::string err;
  // The removal of a declared output before an attempt (the case: it deleted keep.json).
  EXPECT_FALSE(folder_.RemoveFile("artifacts/design/keep.json", &err));
  EXPECT_NE(err.find("a symlink is on its way"), std::string::npos) << err;
  EXPECT_NE(err.find((Root() / "artifacts/design").string()), std::string::npos) << err;
  EXPECT_EQ(ReadFile(Outside() / "keep.json"), "precious");

  EXPECT_FALSE(folder_.WriteAtomically("artifacts/design/keep.json", "evil", &err));
  EXPECT_FALSE(folder_.MakeFolders("artifacts/design/sub", &err));
  EXPECT_FALSE(
      folder_.OpenFile("artifacts/design/new.log", O_WRONLY | O_CREAT, 0600, &err).valid());
  EXPECT_EQ(errno, ELOOP);
  EXPECT_EQ(folder_.ReadFile("artifacts/design/keep.json"), "");
  EXPECT_EQ(ReadFile(Outside() / "keep.json"), "precious");
  EXPECT_FALSE(fs::exists(Outside() / "new.log"));
  EXPECT_FALSE(fs::exists(Outside() / "sub"));
}

TEST_P(FolderTest, ASymlinkAtTheFileIsNeitherReadNorWrittenThrough) {
  fs::create_directories(Outside());
  WriteFile(Outside() / "secret", "secret");
  fs::create_symlink(Outside() / "secret", Root() / "link.log");
  std::string err;
  EXPECT_EQ(folder_.ReadFile("link.log"), "");
  EXPECT_EQ(folder_.ReadTail("link.log", 100), "");
  EXPECT_FALSE(folder_.OpenFile("link.log", O_WRONLY | O_APPEND, 0600, &err).valid());
  EXPECT_FALSE(folder_.WriteAtomically("link.log", "x", &err));
  EXPECT_NE(err.find("it is a symlink"), std::string::npos) << err;
  EXPECT_EQ(ReadFile(Outside() / "secret"), "secret");
  // Removing it removes the link, not what it points to.
  EXPECT_TRUE(folder_.RemoveFile("link.log", &err)) << err;
  EXPECT_EQ(ReadFile(Outside() / "secret"), "secret");
}

TEST_P(FolderTest, AFifoIsRefusedAtOnceNotWaitedFor) {
  ASSERT_EQ(mkfifo((Root() / "1.log").c_str(), 0600), 0);
  std::string err;
  // Each of these would block forever on a FIFO without a writer or reader.
  EXPECT_FALSE(folder_.OpenFile("1.log", O_WRONLY | O_CREAT | O_APPEND, 0600, &err).valid());
  EXPECT_EQ(errno, ENXIO);
  EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
  EXPECT_FALSE(folder_.OpenFile("1.log", O_RDONLY, 0, &err).valid());
  EXPECT_NE(err.find("FIFO"), std::string::npos) << err;
  EXPECT_EQ(folder_.ReadFile("1.log"), "");
  EXPECT_EQ(folder_.ReadTail("1.log", 10), "");
}

TEST_P(FolderTest, AHardLinkIsNotWrittenThrough) {
  fs::create_directories(Outside());
  WriteFile(Outside() / "bashrc", "mine\n");
  fs::create_hard_link(Outside() / "bashrc", Root() / "1.log");
  std::string err;
  EXPECT_FALSE(folder_.OpenFile("1.log", O_WRONLY | O_APPEND, 0600, &err).valid());
  EXPECT_NE(err.find("another hard link"), std::string::npos) << err;
  EXPECT_EQ(errno, ENXIO);
  EXPECT_TRUE(folder_.WriteAtomically("1.log", "new", &err)) << err;  // a new file, by rename
  EXPECT_EQ(ReadFile(Outside() / "bashrc"), "mine\n");
}

TEST_P(FolderTest, PathsOutsideItAreRefused) {
  std::string err;
  EXPECT_FALSE(folder_.OpenFile("../outside.txt", O_WRONLY | O_CREAT, 0600, &err).valid());
  EXPECT_NE(err.find("'..' is not allowed"), std::string::npos) << err;
  EXPECT_FALSE(folder_.WriteAtomically((dir_.path() / "x.json").string(), "x", &err));
  EXPECT_NE(err.find("is not under"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_.path() / "x.json"));
}

TEST_P(FolderTest, ReadTailGivesTheEndWithoutASplitCharacter) {
  std::string text(10000, 'x');
  text += "the end\n";
  WriteFile(Root() / "big.log", text);
  EXPECT_EQ(folder_.ReadTail("big.log", 100), text.substr(text.size() - 100));
  WriteFile(Root() / "small.log", "hello\n");
  EXPECT_EQ(folder_.ReadTail("small.log", 4096), "hello\n");
  WriteFile(Root() / "utf8.log", "aaaa\xC3\xA9z");  // "é" cut after its first byte
  EXPECT_EQ(folder_.ReadTail("utf8.log", 2), "z");
  EXPECT_EQ(folder_.ReadTail("none.log", 100), "");
}

TEST_P(FolderTest, StaleTempFilesAreRemovedAndNothingElse) {
  WriteFile(Root() / "status.json.tmp.4242", "{\"half\": ");
  WriteFile(Root() / "status.json", "{}");
  WriteFile(Root() / "notes.tmp.txt", "mine");
  folder_.RemoveStaleTempFiles("");
  EXPECT_FALSE(fs::exists(Root() / "status.json.tmp.4242"));
  EXPECT_TRUE(fs::exists(Root() / "status.json"));
  EXPECT_TRUE(fs::exists(Root() / "notes.tmp.txt"));
}

TEST_P(FolderTest, AFolderRemovedOrReplacedIsNoticed) {
  std::string err;
  EXPECT_TRUE(folder_.StillInPlace(&err)) << err;
  fs::rename(Root(), dir_.path() / "moved");
  EXPECT_FALSE(folder_.StillInPlace(&err));
  EXPECT_NE(err.find("is gone"), std::string::npos) << err;
  fs::create_directories(Root());  // a fresh folder of the same name
  EXPECT_FALSE(folder_.StillInPlace(&err));
  EXPECT_NE(err.find("was replaced"), std::string::npos) << err;
  fs::remove(Root());
  fs::create_directory_symlink(dir_.path() / "moved", Root());  // the same folder, through a link
  EXPECT_FALSE(folder_.StillInPlace(&err));
  // What is written goes on into the folder held, wherever it now is.
  EXPECT_TRUE(folder_.WriteAtomically("x.json", "x", &err)) << err;
  EXPECT_EQ(ReadFile(dir_.path() / "moved" / "x.json"), "x");
}

TEST(FolderOpenTest, ASymlinkedFolderIsNotOpened) {
  TempDir dir;
  fs::create_directories(dir.path() / "real");
  fs::create_directory_symlink(dir.path() / "real", dir.path() / ".mex");
  Folder folder;
  std::string err;
  EXPECT_FALSE(Folder::Open((dir.path() / ".mex").string(), true, &folder, &err));
  EXPECT_NE(err.find("is not a folder (or is a symlink)"), std::string::npos) << err;
  ASSERT_TRUE(Folder::Open((dir.path() / "new" / ".mex").string(), true, &folder, &err)) << err;
  EXPECT_EQ(folder.path(), (dir.path() / "new" / ".mex").string());
}

}  // namespace
}  // namespace mex
