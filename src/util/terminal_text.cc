#include "util/terminal_text.h"

namespace mex {

// Written here rather than taken from a library: vis(3) of libbsd escapes bytes in octal and
// knows neither UTF-8 nor bidi; glibc's iswprint depends on the locale, which mex does not set;
// libunistring would decode and classify, for the price of a dependency for these few lines.
namespace {

// The length (2 to 4) of the valid UTF-8 sequence that `text` starts with, its code point in
// `code`; 0 when it starts with no valid sequence (overlong forms and surrogates are invalid).
size_t DecodeUtf8(std::string_view text, char32_t* code) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  size_t length = 0;
  char32_t value = 0;
  char32_t least = 0;  // the smallest code point this length may hold
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, value = lead & 0x1F, least = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, value = lead & 0x0F, least = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, value = lead & 0x07, least = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    value = value << 6 | (byte(i) & 0x3F);
  }
  if (value < least || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *code = value;
  return length;
}

// C1 controls, and the bidi controls that reorder what follows them.
bool IsHiddenControl(char32_t code) {
  return (code >= 0x80 && code <= 0x9F) || (code >= 0x202A && code <= 0x202E) ||
         (code >= 0x2066 && code <= 0x2069);
}

}  // namespace

std::string TerminalSafeLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      bool keep = (c >= 0x20 && c != 0x7F) || c == '\t';
      out += keep ? static_cast<char>(c) : '?';
      ++i;
      continue;
    }
    char32_t code = 0;
    size_t length = DecodeUtf8(text.substr(i), &code);
    if (length == 0) {  // one '?' per stray byte, so that the next valid character survives
      out += '?';
      ++i;
    } else if (IsHiddenControl(code)) {
      out += '?';
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace mex
