// The reader of shell syntax behind model/shell_template.h. Past 600 lines because shell quoting
// has many forms (quotes of three kinds, five expansions, here-documents, comments, [[ ]]), each
// read by a small method of one class; what a command does with its words is apart, in
// model/shell_command.cc.
#include "model/shell_template.h"

#include <fmt/format.h>

#include <optional>

#include "model/shell_command.h"

namespace mex {

namespace {

// One word of a command as the reader builds it.
struct Word {
  bool started = false;
  bool known = true;     // its text holds no placeholder and no expansion
  std::string text;      // quotes removed, as far as known
  std::string raw;       // the unquoted literal characters it starts with
  bool raw_open = true;  // still adding to `raw`
  size_t first_placeholder = std::string_view::npos;
  bool redirect_target = false;

  void Add(char c) {
    started = true;
    text += c;
    if (raw_open) raw += c;
  }
  // A quote, an expansion or a placeholder: `raw` ends here.
  void Close() {
    started = true;
    raw_open = false;
  }
  bool has_placeholder() const { return first_placeholder != std::string_view::npos; }
};

struct SimpleCommand {
  std::vector<Word> words;
  bool in_condition = false;     // between [[ and ]]
  bool arithmetic_test = false;  // [[ ... -eq ... ]]
};

struct HereDocument {
  std::string delimiter;
  bool strip_tabs = false;  // <<-
  bool quoted = false;      // <<'EOF', <<"EOF", <<\EOF: the body is not expanded
};

class ShellReader {
 public:
  ShellReader(std::string_view text, const std::vector<TemplatePiece>& pieces,
              std::vector<ShellContext>* contexts)
      : text_(text), contexts_(*contexts) {
    contexts_.assign(pieces.size(), ShellContext::kUnquoted);
    piece_at_.assign(text.size() + 1, -1);
    piece_end_.assign(pieces.size(), 0);
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (!pieces[i].is_variable) continue;
      size_t close = text.find("}}", pieces[i].offset);
      piece_at_[pieces[i].offset] = static_cast<int>(i);
      piece_end_[i] = close == std::string_view::npos ? text.size() : close + 2;
    }
    pieces_ = &pieces;
  }

  bool Read(TemplateProblem* problem) {
    ReadList(false);
    if (failed_) *problem = problem_;
    return !failed_;
  }

 private:
  bool AtEnd() const { return failed_ || pos_ >= text_.size(); }
  char At(size_t offset) const {
    return pos_ + offset < text_.size() ? text_[pos_ + offset] : '\0';
  }
  int PieceAt(size_t pos) const { return pos < text_.size() ? piece_at_[pos] : -1; }

  std::string Placeholder(size_t offset) const {
    int piece = PieceAt(offset);
    return piece < 0 ? "the placeholder"
                     : fmt::format("'{{{{{}}}}}'", (*pieces_)[static_cast<size_t>(piece)].text);
  }
  std::string EnvOf(size_t offset) const {
    int piece = PieceAt(offset);
    return piece < 0 ? "MEX_..." : ValueVariableName((*pieces_)[static_cast<size_t>(piece)].text);
  }

  void Fail(size_t offset, std::string message) {
    if (failed_) return;
    failed_ = true;
    problem_.offset = offset;
    problem_.message = std::move(message);
  }

  // Takes the placeholder at pos_ in `context` and moves past it.
  void TakePlaceholder(Word* word, ShellContext context) {
    int piece = PieceAt(pos_);
    contexts_[static_cast<size_t>(piece)] = context;
    if (word != nullptr) {
      word->Close();
      word->known = false;
      if (!word->has_placeholder()) word->first_placeholder = pos_;
      // a[{{i}}]=x: bash evaluates an indexed array's subscript as arithmetic.
      std::string_view raw = word->raw;
      size_t bracket = raw.find('[');
      if (bracket != std::string_view::npos && IsShellName(raw.substr(0, bracket)) &&
          raw.find(']', bracket) == std::string_view::npos) {
        Fail(pos_, fmt::format("{} stands in an array subscript, which bash evaluates as "
                               "arithmetic, running code a value holds (a[$(cmd)]); use an "
                               "associative array's key through a variable, or check the value "
                               "is a number first",
                               Placeholder(pos_)));
      }
    }
    pos_ = piece_end_[static_cast<size_t>(piece)];
  }

  // What is being read of one list of commands.
  struct List {
    SimpleCommand command;
    Word word;
    int open_cases = 0;          // `case` commands whose `esac` is still to come
    bool redirect_next = false;  // the next word is the target of a redirection
  };

  void EndWord(List* list) {
    Word& word = list->word;
    SimpleCommand& command = list->command;
    if (!word.started) return;
    if (word.redirect_target) {
      word = Word();
      return;
    }
    bool first = command.words.empty();
    const std::string& text = word.text;
    if (word.known && first && text == "case") ++list->open_cases;
    if (word.known && first && text == "esac" && list->open_cases > 0) --list->open_cases;
    if (word.known && first && text == "[[") command.in_condition = true;
    if (command.in_condition && word.known &&
        (text == "-eq" || text == "-ne" || text == "-lt" || text == "-le" || text == "-gt" ||
         text == "-ge")) {
      command.arithmetic_test = true;
    }
    if (command.in_condition && word.known && text == "]]") command.in_condition = false;
    command.words.push_back(std::move(word));
    word = Word();
  }

  void EndCommand(List* list) {
    EndWord(list);
    CheckCommand(list->command);
    list->command = SimpleCommand();
  }

  // A list of commands, up to the end of the text or, with `in_parens`, the `)` that closes it.
  void ReadList(bool in_parens) {
    List list;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        list.word.redirect_target = list.word.redirect_target || list.redirect_next;
        list.redirect_next = false;
        TakePlaceholder(&list.word, ShellContext::kUnquoted);
        continue;
      }
      char c = At(0);
      if (c == ' ' || c == '\t') {
        EndWord(&list);
        ++pos_;
      } else if (c == '\n') {
        EndCommand(&list);
        ++pos_;
        ReadHereDocuments();
      } else if (std::string_view(";&|<>()").find(c) != std::string_view::npos ||
                 (c == '!' && list.command.in_condition)) {
        if (ReadOperator(&list, in_parens)) return;
      } else if (c == '#' && !list.word.started) {
        ReadComment();
      } else {
        if (!list.word.started) {
          list.word.redirect_target = list.redirect_next;
          list.redirect_next = false;
        }
        ReadWordPart(&list.word);
      }
    }
    EndCommand(&list);
  }

  // At an operator character. Returns true at the `)` that ends a list `in_parens`.
  bool ReadOperator(List* list, bool in_parens) {
    char c = At(0);
    if (list->command.in_condition) {  // inside [[ ]], operators are part of the expression
      EndWord(list);
      ++pos_;
      return false;
    }
    if (c == ';' || c == '|' || (c == '&' && At(1) != '>')) {
      EndCommand(list);
      ++pos_;
      return false;
    }
    if (c == ')') {
      bool ends_pattern = list->open_cases > 0;  // case x in a) ...
      if (ends_pattern || in_parens) {
        EndCommand(list);
      } else {
        EndWord(list);
      }
      ++pos_;
      return in_parens && !ends_pattern;
    }
    EndWord(list);
    if (c == '(') {
      const std::vector<Word>& words = list->command.words;
      bool arithmetic =
          At(1) == '(' && (words.empty() || (words.back().known && words.back().text == "for"));
      if (At(1) == ')') {  // name() { ...; }
        pos_ += 2;
      } else if (arithmetic) {
        pos_ += 2;
        ReadArithmetic(')');
      } else {
        ++pos_;
        ReadList(true);
      }
    } else if (c == '<' && At(1) == '<' && At(2) == '<') {
      pos_ += 3;  // a here-string: its word is an ordinary one
    } else if (c == '<' && At(1) == '<') {
      pos_ += 2;
      ReadHereDocumentOperator();
    } else if (At(1) == '(') {  // <( and >(: process substitution, a list of its own
      pos_ += 2;
      ReadList(true);
      list->word.Close();
      list->word.known = false;
    } else {
      while (!AtEnd() && std::string_view("<>&|").find(At(0)) != std::string_view::npos) ++pos_;
      list->redirect_next = true;
    }
    return false;
  }

  // One piece of a word at pos_: a character, an escape, a quoted string or an expansion.
  void ReadWordPart(Word* word) {
    char c = At(0);
    switch (c) {
      case '\'':
        ReadSingleQuoted(word);
        return;
      case '"':
        ReadDoubleQuoted(word);
        return;
      case '`':
        ReadBackquoted(word);
        return;
      case '$':
        ReadDollar(word, false);
        return;
      case '\\':
        if (PieceAt(pos_ + 1) >= 0) return FailBackslash(pos_ + 1);
        if (At(1) == '\n') {  // a line continuation
          pos_ += 2;
          return;
        }
        word->Close();
        word->text += At(1);
        pos_ += 2;
        return;
      default:
        word->Add(c);
        ++pos_;
    }
  }

  void FailBackslash(size_t offset) {
    Fail(offset, fmt::format("a backslash right before {} would apply to the text that replaces "
                             "it; remove it: the value always arrives as it is",
                             Placeholder(offset)));
  }

  void ReadSingleQuoted(Word* word) {
    word->Close();
    ++pos_;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        TakePlaceholder(word, ShellContext::kSingleQuoted);
        continue;
      }
      char c = At(0);
      ++pos_;
      if (c == '\'') return;
      word->text += c;
    }
  }

  void ReadDoubleQuoted(Word* word) {
    word->Close();
    ++pos_;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        TakePlaceholder(word, ShellContext::kDoubleQuoted);
        continue;
      }
      char c = At(0);
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c == '\\') {
        if (PieceAt(pos_ + 1) >= 0) return FailBackslash(pos_ + 1);
        char next = At(1);
        bool escapes = next == '$' || next == '`' || next == '"' || next == '\\' || next == '\n';
        if (escapes) {
          if (next != '\n') word->text += next;
          pos_ += 2;
        } else {
          word->text += c;
          ++pos_;
        }
        continue;
      }
      if (c == '$') {
        ReadDollar(word, true);
        continue;
      }
      if (c == '`') {
        ReadBackquoted(word);
        continue;
      }
      word->text += c;
      ++pos_;
    }
  }

  void ReadBackquoted(Word* word) {
    word->Close();
    word->known = false;
    ++pos_;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        return Fail(pos_, fmt::format("{} stands inside `...`, whose text the shell reads "
                                      "twice; write $(...) instead of backquotes",
                                      Placeholder(pos_)));
      }
      char c = At(0);
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      ++pos_;
      if (c == '`') return;
    }
  }

  // At a '$': an expansion, or a literal dollar sign.
  void ReadDollar(Word* word, bool in_double_quotes) {
    char next = At(1);
    if (PieceAt(pos_ + 1) >= 0) {
      return Fail(pos_ + 1,
                  fmt::format("a '$' right before {} would join the value's first characters to "
                              "a parameter name; write \\$ for a dollar sign",
                              Placeholder(pos_ + 1)));
    }
    if (next == '(' && At(2) == '(') {
      word->Close();
      word->known = false;
      pos_ += 3;
      return ReadArithmetic(')');
    }
    if (next == '(') {
      word->Close();
      word->known = false;
      pos_ += 2;
      return ReadList(true);
    }
    if (next == '[') {
      word->Close();
      word->known = false;
      pos_ += 2;
      return ReadArithmetic(']');
    }
    if (next == '{') {
      word->Close();
      word->known = false;
      pos_ += 2;
      return ReadBraced();
    }
    if (next == '\'' && !in_double_quotes) {
      word->Close();
      word->known = false;
      pos_ += 2;
      return ReadAnsiQuoted();
    }
    if (next == '"' && !in_double_quotes) {  // bash's $"...": a translated double-quoted string
      ++pos_;
      return ReadDoubleQuoted(word);
    }
    if (IsNameStart(next) || (next >= '0' && next <= '9') || next == '@' || next == '*' ||
        next == '#' || next == '?' || next == '$' || next == '!' || next == '-') {
      word->Close();
      word->known = false;
      pos_ += 2;
      if (IsNameStart(next)) {
        while (!AtEnd() && IsNameChar(At(0)) && PieceAt(pos_) < 0) ++pos_;
      }
      return;
    }
    word->Add('$');
    ++pos_;
  }

  // After "$((", "((" or "$[": up to the closing "))" or "]".
  void ReadArithmetic(char closer) {
    int depth = 0;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        return Fail(pos_,
                    fmt::format("{} stands in an arithmetic expression, where bash evaluates the "
                                "value and runs code it holds (a[$(cmd)]); check it is a number "
                                "first: case ${} in ''|*[!0-9]*) exit 2;; esac; then use $(({} + "
                                "0))",
                                Placeholder(pos_), EnvOf(pos_), EnvOf(pos_)));
      }
      char c = At(0);
      if (c == '(') ++depth;
      if (c == ')' && closer == ')') {
        if (depth == 0) {
          pos_ += At(1) == ')' ? 2 : 1;
          return;
        }
        --depth;
      }
      if (c == ']' && closer == ']' && depth == 0) {
        ++pos_;
        return;
      }
      ++pos_;
    }
  }

  // After "${": up to its "}".
  void ReadBraced() {
    int depth = 0;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        return Fail(pos_, fmt::format("{} stands inside ${{...}}, where bash may evaluate it "
                                      "(subscripts, offsets); set a variable first "
                                      "(x={}) and expand that: \"${{x:-default}}\"",
                                      Placeholder(pos_), Placeholder(pos_)));
      }
      char c = At(0);
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '{') ++depth;
      if (c == '}') {
        if (depth == 0) {
          ++pos_;
          return;
        }
        --depth;
      }
      ++pos_;
    }
  }

  // After "$'": bash's escape-decoding quotes, up to the closing quote.
  void ReadAnsiQuoted() {
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        return Fail(pos_, fmt::format("{} stands inside $'...', where escapes in the value "
                                      "would be decoded; put it outside: $'...'{}$'...'",
                                      Placeholder(pos_), Placeholder(pos_)));
      }
      char c = At(0);
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      ++pos_;
      if (c == '\'') return;
    }
  }

  void ReadComment() {
    while (!AtEnd() && At(0) != '\n') {
      if (PieceAt(pos_) >= 0) {
        TakePlaceholder(nullptr, ShellContext::kComment);
      } else {
        ++pos_;
      }
    }
  }

  // After "<<": the operator's "-" and its delimiter word.
  void ReadHereDocumentOperator() {
    HereDocument doc;
    if (At(0) == '-') {
      doc.strip_tabs = true;
      ++pos_;
    }
    while (!AtEnd() && (At(0) == ' ' || At(0) == '\t')) ++pos_;
    while (!AtEnd()) {
      if (PieceAt(pos_) >= 0) {
        return Fail(pos_, fmt::format("{} cannot be the delimiter of a here-document; write the "
                                      "delimiter itself (<<EOF)",
                                      Placeholder(pos_)));
      }
      char c = At(0);
      if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
          c == '>' || c == '(' || c == ')') {
        break;
      }
      if (c == '\'' || c == '"') {
        doc.quoted = true;
        size_t close = text_.find(c, pos_ + 1);
        if (close == std::string_view::npos) close = text_.size();
        doc.delimiter += text_.substr(pos_ + 1, close - pos_ - 1);
        pos_ = close + 1;
        continue;
      }
      if (c == '\\') {
        doc.quoted = true;
        doc.delimiter += At(1);
        pos_ += 2;
        continue;
      }
      doc.delimiter += c;
      ++pos_;
    }
    here_documents_.push_back(std::move(doc));
  }

  // At the start of the line after a command line with "<<" operators: their bodies.
  void ReadHereDocuments() {
    std::vector<HereDocument> docs = std::move(here_documents_);
    here_documents_.clear();
    for (const HereDocument& doc : docs) {
      while (!AtEnd()) {
        size_t line_end = text_.find('\n', pos_);
        if (line_end == std::string_view::npos) line_end = text_.size();
        std::string_view line = text_.substr(pos_, line_end - pos_);
        if (doc.strip_tabs) {
          while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
        }
        bool has_placeholder = false;
        for (size_t at = pos_; at < line_end; ++at) has_placeholder |= PieceAt(at) >= 0;
        if (line == doc.delimiter && !has_placeholder) {
          pos_ = line_end + 1;
          break;
        }
        ReadHereDocumentLine(doc, line_end);
        pos_ = line_end + 1;
      }
    }
  }

  void ReadHereDocumentLine(const HereDocument& doc, size_t line_end) {
    while (!failed_ && pos_ < line_end) {
      if (PieceAt(pos_) >= 0) {
        if (doc.quoted) {
          return Fail(pos_, fmt::format("{} stands in a here-document whose delimiter is "
                                        "quoted (<<'{}'), where nothing is expanded; write "
                                        "<<{} without quotes",
                                        Placeholder(pos_), doc.delimiter, doc.delimiter));
        }
        TakePlaceholder(nullptr, ShellContext::kHereDocument);
        continue;
      }
      char c = At(0);
      if (!doc.quoted && c == '\\' && PieceAt(pos_ + 1) >= 0) return FailBackslash(pos_ + 1);
      if (!doc.quoted && c == '$' && PieceAt(pos_ + 1) >= 0) {
        Word scratch;
        return ReadDollar(&scratch, true);
      }
      pos_ += c == '\\' ? 2 : 1;
    }
  }

  // The checks that need a whole simple command: what its program does with each word.
  void CheckCommand(const SimpleCommand& command) {
    if (failed_ || command.words.empty()) return;
    std::vector<ShellWord> words;
    for (const Word& w : command.words) {
      words.push_back({w.known ? std::optional<std::string_view>(w.text) : std::nullopt, w.raw,
                       w.first_placeholder});
    }
    ShellCommandChecker::Problem problem;
    auto placeholder = [this](size_t offset) { return Placeholder(offset); };
    if (!commands_.Check(words, command.arithmetic_test, placeholder, &problem)) {
      Fail(problem.offset, std::move(problem.message));
    }
  }

  std::string_view text_;
  std::vector<ShellContext>& contexts_;
  const std::vector<TemplatePiece>* pieces_ = nullptr;
  std::vector<int> piece_at_;                 // per byte: the variable piece starting there, or -1
  std::vector<size_t> piece_end_;             // per piece: one past its "}}"
  std::vector<HereDocument> here_documents_;  // operators read, bodies not yet
  ShellCommandChecker commands_;
  size_t pos_ = 0;
  bool failed_ = false;
  TemplateProblem problem_;
};

}  // namespace

bool ReadShellContexts(std::string_view text, const std::vector<TemplatePiece>& pieces,
                       std::vector<ShellContext>* contexts, TemplateProblem* problem) {
  return ShellReader(text, pieces, contexts).Read(problem);
}

std::string ValueVariableName(std::string_view variable) {
  if (variable == "attempt.number") return "MEX_ATTEMPT";
  if (variable == "attempt.last_error") return "MEX_LAST_ERROR";
  if (variable == "phase.name") return "MEX_PHASE";
  std::string name = "MEX_";
  for (char c : variable) {
    if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      name += c;
    } else {
      name += '_';
    }
  }
  return name;
}

std::string ShellReference(ShellContext context, std::string_view name) {
  switch (context) {
    case ShellContext::kUnquoted:
      return fmt::format("\"${{{}}}\"", name);
    case ShellContext::kSingleQuoted:
      return fmt::format("'\"${{{}}}\"'", name);
    case ShellContext::kDoubleQuoted:
    case ShellContext::kHereDocument:
    case ShellContext::kComment:
      break;
  }
  return fmt::format("${{{}}}", name);
}

}  // namespace mex
