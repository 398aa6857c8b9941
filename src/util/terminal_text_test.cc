#include "util/terminal_text.h"

#include <gtest/gtest.h>

namespace mex {
namespace {

TEST(TerminalTextTest, PrintableTextIsKept) {
  EXPECT_EQ(TerminalSafeLine("build ok: 3 tasks\tin 2 phases"), "build ok: 3 tasks\tin 2 phases");
  EXPECT_EQ(TerminalSafeLine(""), "");
  // UTF-8 of two, three and four bytes: é, →, 😀.
  EXPECT_EQ(TerminalSafeLine("caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80");
}

TEST(TerminalTextTest, EscapeSequencesLoseTheirControlBytes) {
  // Clear the screen; an OSC 52 clipboard write ended by BEL; a title set ended by ST.
  EXPECT_EQ(TerminalSafeLine("\x1b[2Jhello"), "?[2Jhello");
  EXPECT_EQ(TerminalSafeLine("x\x1b]52;c;cm0gLXJmIH4=\x07y"), "x?]52;c;cm0gLXJmIH4=?y");
  EXPECT_EQ(TerminalSafeLine("\x1b]0;owned\x1b\\"), "?]0;owned?\\");
}

TEST(TerminalTextTest, C0ControlsButTabAndDelBecomeQuestionMarks) {
  for (int c = 0; c < 0x20; ++c) {
    std::string text(1, static_cast<char>(c));
    std::string expected = c == '\t' ? text : "?";
    EXPECT_EQ(TerminalSafeLine(text), expected) << c;
  }
  EXPECT_EQ(TerminalSafeLine("a\rb\bc\x7f"), "a?b?c?");
  EXPECT_EQ(TerminalSafeLine(std::string("a\0b", 3)), "a?b");
}

TEST(TerminalTextTest, NewlinesBecomeQuestionMarksSoThatTheTextStaysOneLine) {
  EXPECT_EQ(TerminalSafeLine("one\ntwo\r\n\tthree"), "one?two??\tthree");
}

TEST(TerminalTextTest, C1ControlsBecomeOneQuestionMarkEach) {
  // U+009B (CSI) and U+0085 (NEL), as UTF-8.
  EXPECT_EQ(TerminalSafeLine("a\xC2\x9B"
                             "2Jb\xC2\x85"
                             "c"),
            "a?2Jb?c");
  EXPECT_EQ(TerminalSafeLine("\xC2\x9F\xC2\xA0"), "?\xC2\xA0");  // U+009F goes, U+00A0 stays
}

TEST(TerminalTextTest, BytesThatAreNotUtf8BecomeOneQuestionMarkEach) {
  EXPECT_EQ(TerminalSafeLine("a\x9b"
                             "2Jb"),
            "a?2Jb");                                       // a lone CSI of an 8-bit terminal
  EXPECT_EQ(TerminalSafeLine("\xC3(x"), "?(x");             // lead byte without its continuation
  EXPECT_EQ(TerminalSafeLine("\xC0\x9B"), "??");            // an overlong ESC
  EXPECT_EQ(TerminalSafeLine("\xE0\x80\x9B"), "???");       // overlong three-byte form
  EXPECT_EQ(TerminalSafeLine("\xED\xA0\x80"), "???");       // a surrogate
  EXPECT_EQ(TerminalSafeLine("\xF4\x90\x80\x80"), "????");  // past U+10FFFF
  EXPECT_EQ(TerminalSafeLine("\xF8\x88\x80\x80\x80"), "?????");
  EXPECT_EQ(TerminalSafeLine("ok\xE2\x86"), "ok??");              // cut short at the end
  EXPECT_EQ(TerminalSafeLine("\xE2\x86\xC3\xA9"), "??\xC3\xA9");  // the next character survives
}

TEST(TerminalTextTest, BidiControlsBecomeQuestionMarks) {
  // U+202A..U+202E (LRE RLE PDF LRO RLO) and U+2066..U+2069 (LRI RLI FSI PDI).
  for (char32_t code : {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}) {
    std::string text = "a";
    text += static_cast<char>(0xE0 | (code >> 12));
    text += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    text += static_cast<char>(0x80 | (code & 0x3F));
    text += "b";
    EXPECT_EQ(TerminalSafeLine(text), "a?b") << std::hex << static_cast<uint32_t>(code);
  }
  // Their neighbours U+202F (narrow no-break space) and U+2065 (unassigned) stay.
  EXPECT_EQ(TerminalSafeLine("\xE2\x80\xAF\xE2\x81\xA5"), "\xE2\x80\xAF\xE2\x81\xA5");
}

TEST(TerminalTextTest, AStreamKeepsLineBreaksAndMakesEachLineSafe) {
  TerminalSafeStream stream;
  EXPECT_EQ(stream.Feed("one\n\x1b[31mred\x1b[0m\r\nlast"), "one\n?[31mred?[0m\r\nlast");
  EXPECT_EQ(stream.Feed("\a line\rover\n"), "? line?over\n");
  EXPECT_EQ(stream.Finish(), "");
}

TEST(TerminalTextTest, AStreamKeepsBackWhatTheNextPieceMayComplete) {
  // → (E2 86 92) and 😀 (F0 9F 98 80) cut between pieces, and a "\r\n" cut after its '\r'.
  TerminalSafeStream stream;
  EXPECT_EQ(stream.Feed("a\xE2"), "a");
  EXPECT_EQ(stream.Feed("\x86"), "");
  EXPECT_EQ(stream.Feed("\x92"
                        "b\xF0\x9F\x98"),
            "\xE2\x86\x92"
            "b");
  EXPECT_EQ(stream.Feed("\x80\r"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(stream.Feed("\nc"), "\r\nc");
  // What stays cut at the end is shown as it is: '?' per byte.
  EXPECT_EQ(stream.Feed("\xE2\x86"), "");
  EXPECT_EQ(stream.Finish(), "??");
  EXPECT_EQ(stream.Feed("x\r"), "x");
  EXPECT_EQ(stream.Finish(), "?");
  // A complete sequence and a byte that starts none are not kept back.
  EXPECT_EQ(stream.Feed("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(stream.Feed("\xFF"), "?");
  EXPECT_EQ(stream.Feed("\x9b"), "?");
  EXPECT_EQ(stream.Finish(), "");
}

}  // namespace
}  // namespace mex
