#include "model/milestone.h"

#include <algorithm>
#include <new>

namespace mex {

namespace {

constexpr size_t kChunkBits = 20;  // an arena reference: chunk << kChunkBits | offset
constexpr size_t kArenaChunk = size_t{1} << kChunkBits;
constexpr uint64_t kTagMask = 0xffffffff00000000ULL;

uint64_t HashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: ids are short
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

}  // namespace

bool IsValidId(std::string_view id) {
  // An id names files (logs/ID.N.log, failures/ID.json): "." and ".." would name others.
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

struct SymbolTable::Entry {
  uint32_t symbol;
  uint32_t length;
  std::string_view name() const { return {reinterpret_cast<const char*>(this + 1), length}; }
};

const SymbolTable::Entry* SymbolTable::EntryAt(uint32_t ref) const {
  return reinterpret_cast<const Entry*>(arena_[ref >> kChunkBits].get() +
                                        (ref & (kArenaChunk - 1)));
}

size_t SymbolTable::Slot(std::string_view name, uint64_t hash) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == 0) return i;
    if ((s & kTagMask) == (hash & kTagMask) &&
        EntryAt(static_cast<uint32_t>(s) - 1)->name() == name) {
      return i;
    }
  }
}

void SymbolTable::Reserve(size_t count) {
  size_t wanted = (names_.size() + count + 1) * 2;
  if (wanted > slots_.size()) Grow(wanted);
}

void SymbolTable::Grow(size_t min_slots) {
  std::vector<uint64_t> old = std::move(slots_);
  size_t size = old.empty() ? 1024 : old.size() * 2;
  while (size < min_slots) size *= 2;
  slots_.assign(size, 0);
  size_t mask = slots_.size() - 1;
  for (uint64_t s : old) {
    if (s == 0) continue;
    size_t i = HashName(EntryAt(static_cast<uint32_t>(s) - 1)->name()) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

uint32_t SymbolTable::Intern(std::string_view name) {
  if ((names_.size() + 1) * 2 > slots_.size()) Grow(0);
  uint64_t hash = HashName(name);
  size_t slot = Slot(name, hash);
  if (slots_[slot] != 0) return EntryAt(static_cast<uint32_t>(slots_[slot]) - 1)->symbol;
  // Records are 8-byte aligned so that the header can be read in place.
  size_t record = (sizeof(Entry) + name.size() + 7) & ~size_t{7};
  if (chunk_used_ + record > chunk_size_) {
    chunk_size_ = std::max(kArenaChunk, record);  // a huge name gets a chunk of its own
    arena_.push_back(std::make_unique<char[]>(chunk_size_));
    chunk_used_ = 0;
  }
  auto symbol = static_cast<uint32_t>(names_.size());
  auto ref = static_cast<uint32_t>(((arena_.size() - 1) << kChunkBits) | chunk_used_);
  auto* entry =
      new (arena_.back().get() + chunk_used_) Entry{symbol, static_cast<uint32_t>(name.size())};
  std::copy(name.begin(), name.end(), reinterpret_cast<char*>(entry + 1));
  chunk_used_ += record;
  names_.push_back(entry->name());
  slots_[slot] = (hash & kTagMask) | (uint64_t{ref} + 1);
  return symbol;
}

void SymbolTable::Prefetch(std::string_view name, bool record) const {
  if (slots_.empty()) return;
  uint64_t hash = HashName(name);
  const uint64_t* slot = &slots_[hash & (slots_.size() - 1)];
  if (!record) {
    __builtin_prefetch(slot);
  } else if (*slot != 0) {
    __builtin_prefetch(EntryAt(static_cast<uint32_t>(*slot) - 1));
  }
}

uint32_t SymbolTable::Find(std::string_view name) const {
  if (slots_.empty()) return kNone;
  uint64_t s = slots_[Slot(name, HashName(name))];
  return s == 0 ? kNone : EntryAt(static_cast<uint32_t>(s) - 1)->symbol;
}

RetryPolicy RetryPolicy::Unset() {
  return {-1, {-1, -1, -1, -1}};
}

void RetryPolicy::InheritUnset(const RetryPolicy& defaults) {
  if (max_attempts < 0) max_attempts = defaults.max_attempts;
  if (backoff.initial_s < 0) backoff.initial_s = defaults.backoff.initial_s;
  if (backoff.factor < 0) backoff.factor = defaults.backoff.factor;
  if (backoff.max_s < 0) backoff.max_s = defaults.backoff.max_s;
  if (backoff.jitter < 0) backoff.jitter = defaults.backoff.jitter;
}

const Task* Milestone::FindTask(std::string_view task_id) const {
  uint32_t symbol = symbols.Find(task_id);
  if (symbol == SymbolTable::kNone || symbol >= task_of_symbol.size()) return nullptr;
  uint32_t index = task_of_symbol[symbol];
  return index == SymbolTable::kNone ? nullptr : &tasks[index];
}

std::vector<uint32_t> Milestone::PhaseEnds() const {
  std::vector<uint32_t> ends(phases.size(), 0);
  for (size_t p = 0; p < phases.size(); ++p) {
    ends[p] = phases[p].tasks.empty() ? (p ? ends[p - 1] : 0) : phases[p].tasks.back() + 1;
  }
  return ends;
}

WorkspaceMode Milestone::WorkspaceOf(const Task& task) const {
  if (const TaskDetail* d = task.details(); d && d->workspace) return *d->workspace;
  if (task.phase < phases.size() && phases[task.phase].workspace) {
    return *phases[task.phase].workspace;
  }
  return defaults.workspace;
}

namespace {

// `task`'s own setting `field` if it has one, else its phase's, else `fallback`.
template <typename T>
const T& Layered(const Milestone& m, const Task& task, std::optional<T> TaskDetail::*own,
                 std::optional<T> Phase::*phase, const T& fallback) {
  if (const TaskDetail* d = task.details(); d && (d->*own)) return *(d->*own);
  if (task.phase < m.phases.size() && (m.phases[task.phase].*phase)) {
    return *(m.phases[task.phase].*phase);
  }
  return fallback;
}

}  // namespace

double Milestone::TimeoutOf(const Task& task) const {
  return Layered(*this, task, &TaskDetail::timeout_s, &Phase::timeout_s, defaults.timeout_s);
}

const RetryPolicy& Milestone::RetryOf(const Task& task) const {
  return Layered(*this, task, &TaskDetail::retry, &Phase::retry, defaults.retry);
}

double Milestone::StallAfterOf(const Task& task) const {
  return Layered(*this, task, &TaskDetail::stall_after_s, &Phase::stall_after_s,
                 defaults.stall_after_s);
}

StallAction Milestone::StallActionOf(const Task& task) const {
  return Layered(*this, task, &TaskDetail::stall_action, &Phase::stall_action,
                 defaults.stall_action);
}

uint32_t Milestone::NextPhaseWithTasksFrom(uint32_t from) const {
  auto phase = from;
  while (phase < phases.size() && phases[phase].tasks_from.empty()) ++phase;
  return phase;
}

ExecutorKind Milestone::ExecutorOf(const Task& task) const {
  return Layered(*this, task, &TaskDetail::executor, &Phase::executor, defaults.executor);
}

bool Milestone::UsesSlurm() const {
  if (defaults.executor == ExecutorKind::kSlurm) return true;
  for (const Phase& phase : phases) {
    if (phase.executor == ExecutorKind::kSlurm) return true;
  }
  for (const Task& task : tasks) {
    const TaskDetail* d = task.details();
    if (d != nullptr && d->executor == ExecutorKind::kSlurm) return true;
  }
  return false;
}

const std::vector<ClassifyRule>& Milestone::ClassifyRulesOf(
    const Task& task, std::vector<ClassifyRule>* scratch) const {
  const TaskDetail* d = task.details();
  const std::vector<ClassifyRule>* of_phase =
      task.phase < phases.size() ? &phases[task.phase].classify : nullptr;
  if ((d == nullptr || d->classify.empty()) && (of_phase == nullptr || of_phase->empty())) {
    return classify;
  }
  scratch->clear();
  if (d != nullptr) scratch->insert(scratch->end(), d->classify.begin(), d->classify.end());
  if (of_phase != nullptr) scratch->insert(scratch->end(), of_phase->begin(), of_phase->end());
  scratch->insert(scratch->end(), classify.begin(), classify.end());
  return *scratch;
}

bool Milestone::UsesWorktrees() const {
  if (defaults.workspace == WorkspaceMode::kWorktree) return true;
  for (const Phase& p : phases) {
    if (p.workspace == WorkspaceMode::kWorktree) return true;
  }
  for (const Task& t : tasks) {
    if (t.details() && t.details()->workspace == WorkspaceMode::kWorktree) return true;
  }
  return false;
}

}  // namespace mex
