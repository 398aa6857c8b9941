// Text from a task, an agent, a log or the milestone file, made safe to print on a terminal.
#pragma once

#include <string>
#include <string_view>

namespace mex {

// `text` as one line for a terminal: every character that a terminal could take as a command,
// or that could make the text look other than it is, replaced by '?', as `ls` does on a
// terminal. That is C0 controls but tab (newline too: a line break is mex's to print), DEL, C1
// controls (U+0080-U+009F), each byte that is not part of valid UTF-8 (a lone 0x9b is CSI to an
// 8-bit terminal), and the bidi embeddings, overrides and isolates (U+202A-U+202E,
// U+2066-U+2069: "Trojan Source"). The printers apply it; the engine, the store and --json keep
// the raw bytes.
std::string TerminalSafeLine(std::string_view text);

// A text of many lines (a log) for a terminal, given a piece at a time as it is read: each line
// as TerminalSafeLine makes it, its line breaks ("\n", and "\r\n") kept. The end of a piece that
// may be cut through (the first bytes of a UTF-8 sequence, a '\r' that a '\n' may follow) is kept
// back for the next piece, so that a read boundary never shows as '?'.
class TerminalSafeStream {
 public:
  // What of `piece` (after what was kept back) can be printed now.
  std::string Feed(std::string_view piece);
  // What was kept back, at the end of the text.
  std::string Finish();

 private:
  std::string held_;
};

}  // namespace mex
