// The report of a run (docs/report.md): what it did, built from what the store recorded, as the
// JSON object of `mex report --format json` (versioned), and rendered from that object as
// Markdown (for a pull-request comment or a CI step summary) and as a Chrome trace (Perfetto).
// The commands layer reads the store into a ReportInput; nothing here reads a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/store.h"

namespace mex {

constexpr int kReportVersion = 1;
// GitHub's limit for a step summary: the Markdown never grows past it.
constexpr size_t kMarkdownLimit = 1024 * 1024;

struct ReportPhase {
  std::string name;
  double weight = 0;
  std::string state;  // pending, running, passed, failed
  bool scored = false;
  GateRecord gate;  // detail: the validation file's JSON, "" when none
};

struct ReportTask {
  std::string id;
  uint32_t seq = 0;
  uint32_t phase = 0;
  double effort = 0;
  std::string state;              // TaskStateName, or "removed" (no longer in the milestone)
  std::string agent;              // "" for a command, or when the milestone was not read
  std::vector<std::string> deps;  // when the milestone was read
  std::string command;            // what it runs (its `run`), when the milestone was read
  std::string prompt;             // its agent prompt, when the milestone was read
};

struct ReportEvent {
  double time = 0;
  std::string kind;
  std::string task;
  std::string body;  // the event's JSON object
};

struct ReportInput {
  std::string run_id;
  std::string milestone;       // the milestone's id
  std::string milestone_file;  // its path
  std::string state;           // of the run: running, succeeded, failed, interrupted
  double started_at = 0;
  double ended_at = 0;  // 0 while running
  int exit_code = -1;
  double progress = 0;  // weighted, 0..1
  double cost_usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double now = 0;  // when the report is made: the end of what still runs
  std::vector<ReportPhase> phases;
  std::vector<ReportTask> tasks;  // in file order
  std::vector<AttemptRecord> attempts;
  std::vector<ReportEvent> events;
  nlohmann::ordered_json critical_path;  // roadmap.json's {"length","tasks"}, or null
};

// The report object, "version": kReportVersion.
nlohmann::ordered_json BuildReport(const ReportInput& input);

// The report as Markdown, at most `limit` bytes: detail past it is left out with a line saying
// how much, never the counts.
std::string ReportMarkdown(const nlohmann::ordered_json& report, size_t limit = kMarkdownLimit);

// The report as Chrome trace-event JSON: one complete event per attempt, on rows (tid) such that
// attempts on one row never overlap; instant events for session starts and phase ends.
std::string ReportTrace(const nlohmann::ordered_json& report);

// Rows for spans [start, end) taken in order of start (ties in the given order): each goes on
// the lowest row whose last span ended by its start, so spans of one row never overlap. The
// trace's slots and the HTML timeline's rows.
std::vector<int> LowestFreeRows(const std::vector<std::pair<int64_t, int64_t>>& spans);

// Markdown helpers (exposed for tests).
// `text` as inline Markdown text that renders as written: no markup, no HTML, one line.
std::string MarkdownText(std::string_view text);
// `text` in a fenced code block whose fence is longer than any run of backticks in it.
std::string MarkdownFence(std::string_view text, std::string_view info = "text");

// `json` as text, invalid UTF-8 replaced (log tails are whatever a task wrote).
std::string DumpJson(const nlohmann::ordered_json& json, int indent);

}  // namespace mex
