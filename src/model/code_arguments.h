// Programs that run one of their arguments as code: a shell's -c script, eval's words, python's
// -c, ssh's remote command, ... A template value must never become the text of such an
// argument (SPEC §2, docs/security.md): whoever runs it would run the value.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

struct CodeArgument {
  static constexpr size_t kNone = static_cast<size_t>(-1);
  size_t index = kNone;      // the first word run as code, or kNone
  bool to_end = false;       // every word from `index` on is code (eval, ssh, watch)
  bool posix_shell = false;  // the word is a script of a POSIX-family shell (sh, bash, zsh, ...)
  std::string program;       // how a person names it: "bash -c", "python3 -c", "ssh", "eval"

  bool found() const { return index != kNone; }
  bool IsCode(size_t word) const { return word == index || (to_end && word > index); }
};

// Finds the argument that the program of `words` (an argv list, or the words of one simple
// command of a script) runs as code. A word whose text cannot be known before the run (it holds
// a placeholder or an expansion) is nullopt. Looks through wrappers that run the rest of their
// words as a command (env, nice, nohup, setsid, stdbuf, timeout, time, command, exec, xargs).
// Programs mex does not know are taken to use their arguments as data.
CodeArgument FindCodeArgument(const std::vector<std::optional<std::string_view>>& words);

// Why `placeholder` (as written: "'{{task.title}}'") cannot stand in `code`, and what to write
// instead.
std::string CodeArgumentMessage(std::string_view placeholder, const CodeArgument& code);

}  // namespace mex
