// The `pattern` of a classify rule: RE2, so that matching a log takes time linear in the log
// whatever the pattern (a backtracking matcher spins forever on "(a+)+b" and a line of a's).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace mex {

// `pattern` compiled for searching a log: RE2's syntax over UTF-8 text, case-sensitive unless it
// says (?i); `^` and `$` match at the start and end of each line, and no match spans a newline.
// Returns null and sets `err` (RE2's message, and a hint when the pattern needs backtracking,
// as a backreference or a lookaround does) when RE2 cannot compile it.
std::shared_ptr<const re2::RE2> CompileClassifyPattern(std::string_view pattern, std::string* err);

// Whether `re` matches somewhere in `text`; `matched` gets the leftmost match.
bool SearchClassifyPattern(const re2::RE2& re, std::string_view text, std::string_view* matched);

}  // namespace mex
