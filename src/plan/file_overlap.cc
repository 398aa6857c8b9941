#include "plan/file_overlap.h"

#include <fnmatch.h>

#include <algorithm>
#include <tuple>

namespace mex {

namespace {

enum class SegmentKind : uint8_t { kLiteral, kGlob, kAnyDepth };

struct Segment {
  std::string_view text;  // in the entry, or kAnyDepth
  SegmentKind kind = SegmentKind::kLiteral;
};

constexpr std::string_view kAnyDepth = "**";
// What starts a wildcard in fnmatch(3) (a backslash escapes; taken as one to stay conservative),
// and, for the end of a glob, also what closes a bracket expression.
constexpr std::string_view kWildcardStart = "*?[\\";
constexpr std::string_view kWildcardEnd = "*?[]\\";

// Appends the entry's segments to `out`; a folder (`dir/`, `dir/.`, `.`) ends with `**`. Views
// into `entry`: no copy per entry of a large milestone.
void Split(std::string_view entry, std::vector<Segment>* out) {
  size_t first = out->size();
  bool folder = false;
  size_t start = 0;
  while (start <= entry.size()) {
    size_t end = std::min(entry.find('/', start), entry.size());
    std::string_view s = entry.substr(start, end - start);
    folder = s.empty() || s == ".";
    if (!folder) {
      SegmentKind kind = s == kAnyDepth                              ? SegmentKind::kAnyDepth
                         : s.find_first_of(kWildcardStart) == s.npos ? SegmentKind::kLiteral
                                                                     : SegmentKind::kGlob;
      out->push_back({s, kind});
    }
    start = end + 1;
  }
  bool empty = out->size() == first;
  if ((folder || empty) && (empty || out->back().kind != SegmentKind::kAnyDepth)) {
    out->push_back({kAnyDepth, SegmentKind::kAnyDepth});
  }
}

bool GlobMatches(std::string_view glob, std::string_view name) {
  std::string g(glob), n(name);  // fnmatch wants NUL-terminated strings; segments are short
  return fnmatch(g.c_str(), n.c_str(), FNM_PATHNAME) == 0;
}

// Whether one name could match both globs: a name that does begins with both fixed beginnings,
// so one is a prefix of the other, and ends with both fixed endings likewise. Necessary, not
// sufficient: the answer errs towards an overlap.
bool GlobsMayMeet(std::string_view a, std::string_view b) {
  std::string_view head_a = a.substr(0, a.find_first_of(kWildcardStart));
  std::string_view head_b = b.substr(0, b.find_first_of(kWildcardStart));
  if (!head_a.starts_with(head_b) && !head_b.starts_with(head_a)) return false;
  std::string_view tail_a = a.substr(a.find_last_of(kWildcardEnd) + 1);
  std::string_view tail_b = b.substr(b.find_last_of(kWildcardEnd) + 1);
  return tail_a.ends_with(tail_b) || tail_b.ends_with(tail_a);
}

// Whether one name could match both segments, neither of them `**`.
bool SegmentsMeet(const Segment& a, const Segment& b) {
  if (a.kind == SegmentKind::kLiteral && b.kind == SegmentKind::kLiteral) return a.text == b.text;
  if (a.kind == SegmentKind::kLiteral) return GlobMatches(b.text, a.text);
  if (b.kind == SegmentKind::kLiteral) return GlobMatches(a.text, b.text);
  return GlobsMayMeet(a.text, b.text);
}

// Walks both segment lists along one imagined path: state (i, j) means a path so far matches the
// first i segments of `a` and the first j of `b`. `**` may take no segment or one more.
bool SegmentsOverlap(std::span<const Segment> a, std::span<const Segment> b) {
  const size_t n = a.size(), m = b.size(), states = (n + 1) * (m + 1);
  // Entries have a few segments: the states fit on the stack but for a pathological entry. A
  // state is i * (m + 1) + j, seen and pushed at most once.
  constexpr size_t kInline = 256;
  char inline_seen[kInline] = {};
  size_t inline_stack[kInline];
  std::vector<char> heap_seen(states > kInline ? states : 0, 0);
  std::vector<size_t> heap_stack(states > kInline ? states : 0);
  char* seen = states > kInline ? heap_seen.data() : inline_seen;
  size_t* stack = states > kInline ? heap_stack.data() : inline_stack;
  size_t top = 0;
  auto visit = [&](size_t i, size_t j) {
    size_t state = i * (m + 1) + j;
    if (!seen[state]) {
      seen[state] = 1;
      stack[top++] = state;
    }
  };
  visit(0, 0);
  while (top > 0) {
    size_t state = stack[--top];
    size_t i = state / (m + 1), j = state % (m + 1);
    if (i == n && j == m) return true;
    bool any_a = i < n && a[i].kind == SegmentKind::kAnyDepth;
    bool any_b = j < m && b[j].kind == SegmentKind::kAnyDepth;
    if (any_a) visit(i + 1, j);
    if (any_b) visit(i, j + 1);
    if (i < n && j < m && (any_a || any_b || SegmentsMeet(a[i], b[j]))) {
      visit(any_a ? i : i + 1, any_b ? j : j + 1);
    }
  }
  return false;
}

}  // namespace

std::string FileEntryProblem(std::string_view entry) {
  if (entry.empty()) return "is empty";
  if (entry.front() == '/') return "is absolute: write it relative to the workspace";
  size_t start = 0;
  while (start <= entry.size()) {
    size_t end = std::min(entry.find('/', start), entry.size());
    if (entry.substr(start, end - start) == "..") {
      return "leaves the workspace: write it without '..'";
    }
    start = end + 1;
  }
  return "";
}

bool EntriesOverlap(std::string_view a, std::string_view b) {
  std::vector<Segment> segments;
  Split(a, &segments);
  size_t split = segments.size();
  Split(b, &segments);
  std::span<const Segment> all = segments;
  return SegmentsOverlap(all.first(split), all.subspan(split));
}

std::vector<ItemOverlap> OverlappingItems(std::span<const std::vector<std::string>* const> items) {
  struct Entry {
    uint32_t item, index;
    uint32_t begin, literal_end, end;  // its segments, and its leading literal ones
  };
  std::vector<Segment> segments;
  std::vector<Entry> entries;
  for (uint32_t item = 0; item < items.size(); ++item) {
    if (items[item] == nullptr) continue;
    const std::vector<std::string>& files = *items[item];
    for (uint32_t index = 0; index < files.size(); ++index) {
      auto begin = static_cast<uint32_t>(segments.size());
      Split(files[index], &segments);
      auto end = static_cast<uint32_t>(segments.size());
      uint32_t literal_end = begin;
      while (literal_end < end && segments[literal_end].kind == SegmentKind::kLiteral) {
        ++literal_end;
      }
      entries.push_back({item, index, begin, literal_end, end});
    }
  }
  auto literal = [&](const Entry& e) {
    return std::span<const Segment>(segments).subspan(e.begin, e.literal_end - e.begin);
  };
  auto text_less = [](const Segment& x, const Segment& y) { return x.text < y.text; };
  // Ordered by leading literal segments: the entries whose literal prefix begins with x's follow
  // x in one run, and two entries whose literal prefixes part (differ in a segment both name
  // literally) cannot overlap. Each pair that could is met once.
  std::sort(entries.begin(), entries.end(), [&](const Entry& x, const Entry& y) {
    std::span<const Segment> a = literal(x), b = literal(y);
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), text_less);
  });
  auto extends = [&](const Entry& y, std::span<const Segment> prefix) {
    std::span<const Segment> own = literal(y);
    return own.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), own.begin(),
                      [](const Segment& p, const Segment& q) { return p.text == q.text; });
  };
  std::span<const Segment> all = segments;
  std::vector<ItemOverlap> found;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& x = entries[i];
    std::span<const Segment> prefix = literal(x), xs = all.subspan(x.begin, x.end - x.begin);
    for (size_t j = i + 1; j < entries.size() && extends(entries[j], prefix); ++j) {
      const Entry& y = entries[j];
      if (y.item == x.item || !SegmentsOverlap(xs, all.subspan(y.begin, y.end - y.begin))) {
        continue;
      }
      found.push_back(x.item < y.item ? ItemOverlap{x.item, y.item, x.index, y.index}
                                      : ItemOverlap{y.item, x.item, y.index, x.index});
    }
  }
  auto order = [](const ItemOverlap& x, const ItemOverlap& y) {
    return std::tie(x.a, x.b, x.entry_a, x.entry_b) < std::tie(y.a, y.b, y.entry_a, y.entry_b);
  };
  std::sort(found.begin(), found.end(), order);
  auto same_items = [](const ItemOverlap& x, const ItemOverlap& y) {
    return x.a == y.a && x.b == y.b;
  };
  found.erase(std::unique(found.begin(), found.end(), same_items), found.end());
  return found;
}

}  // namespace mex
