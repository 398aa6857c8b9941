#include "model/classify_pattern.h"

#include <re2/re2.h>

namespace mex {

namespace {

RE2::Options PatternOptions() {
  RE2::Options options;
  options.set_log_errors(false);  // the loader reports them, at the pattern's line and column
  options.set_never_nl(true);     // no match spans a newline (docs/milestone-file.md)
  return options;
}

// What to do about a pattern RE2 rejects for a feature it leaves out on purpose.
std::string Hint(const RE2& re) {
  bool backreference = re.error_code() == RE2::ErrorBadEscape && re.error_arg().size() == 2 &&
                       re.error_arg()[1] >= '1' && re.error_arg()[1] <= '9';
  if (backreference || re.error_code() == RE2::ErrorBadPerlOp) {
    return " (RE2 syntax has no backreferences, lookahead or lookbehind, which can take "
           "exponential time: rewrite the pattern without them)";
  }
  return "";
}

}  // namespace

std::shared_ptr<const re2::RE2> CompileClassifyPattern(std::string_view pattern, std::string* err) {
  RE2::Options options = PatternOptions();
  // In RE2's Perl mode `^` and `$` match only at the ends of the text unless (?m) is set.
  auto re = std::make_shared<const RE2>("(?m)" + std::string(pattern), options);
  if (re->ok()) return re;
  // Said of the pattern as written, without the (?m) that RE2 would quote back.
  RE2 bare(re2::StringPiece(pattern.data(), pattern.size()), options);
  const RE2& failed = bare.ok() ? *re : bare;
  *err = failed.error() + Hint(failed);
  return nullptr;
}

bool SearchClassifyPattern(const re2::RE2& re, std::string_view text, std::string_view* matched) {
  re2::StringPiece match;
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, &match,
                1)) {
    return false;
  }
  *matched = std::string_view(match.data(), match.size());
  return true;
}

}  // namespace mex
