#include "exec/slurm_parse.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <ctime>

namespace mex {
namespace {

// The '|'-separated fields of `line`, at most N; fewer when the line has fewer.
template <size_t N>
size_t SplitFields(std::string_view line, std::array<std::string_view, N>* fields) {
  size_t count = 0;
  while (count < N) {
    size_t bar = line.find('|');
    (*fields)[count++] = line.substr(0, bar);
    if (bar == std::string_view::npos) break;
    line.remove_prefix(bar + 1);
  }
  return count;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool ToInt(std::string_view text, int* value) {
  text = Trim(text);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

// "2026-12-04T22:04:49" in this machine's time zone, as seconds since the Unix epoch; 0 when it
// is no such time ("N/A", "Unknown").
double ParseLocalTime(std::string_view text) {
  std::tm tm{};
  std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || *end != '\0') return 0;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  return t == static_cast<time_t>(-1) ? 0 : static_cast<double>(t);
}

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "123", or an array element "123_4"; not "123_[5-9%2]" (pending elements folded into one line).
bool IsJobId(std::string_view id) {
  size_t bar = id.find('_');
  if (bar == std::string_view::npos) return IsDigits(id);
  return IsDigits(id.substr(0, bar)) && IsDigits(id.substr(bar + 1));
}

// "CANCELLED by 0" -> "CANCELLED"; "RUNNING" stays.
std::string StateWord(std::string_view state) {
  state = Trim(state);
  return std::string(state.substr(0, state.find(' ')));
}

// The signals that end a process unless it handles them: a command killed by one of these ends
// its job script by the same signal, and its exit marker's 128 + N is read as that signal. Not
// those that stop a process or are ignored (SIGTSTP, SIGCHLD, ...): a command that exits 148 is
// not SIGTSTP, whose raising would stop the script instead of ending it.
constexpr std::array kReraisedSignals = {
    SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGTRAP, SIGABRT, SIGBUS,  SIGFPE,    SIGKILL, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS};

template <typename LineFn>
void ForEachLine(std::string_view out, LineFn fn) {
  while (!out.empty()) {
    size_t nl = out.find('\n');
    fn(out.substr(0, nl));
    if (nl == std::string_view::npos) break;
    out.remove_prefix(nl + 1);
  }
}

}  // namespace

std::string ParseSbatchJobId(std::string_view out) {
  out = Trim(out);
  while (!out.empty() && out.back() == '\n') out = Trim(out.substr(0, out.size() - 1));
  // The last line: sbatch may warn before it.
  size_t nl = out.rfind('\n');
  if (nl != std::string_view::npos) out = out.substr(nl + 1);
  std::string_view id = Trim(out.substr(0, out.find(';')));
  return IsJobId(id) ? std::string(id) : "";
}

std::vector<SlurmJobRow> ParseSqueue(std::string_view out) {
  std::vector<SlurmJobRow> rows;
  ForEachLine(out, [&](std::string_view line) {
    std::array<std::string_view, 7> f;
    size_t fields = SplitFields(line, &f);
    if (fields < 5 || !IsJobId(Trim(f[0]))) return;
    SlurmJobRow row;
    row.id = Trim(f[0]);
    if (fields == 7 && IsDigits(Trim(f[6]))) row.own_id = Trim(f[6]);
    row.state = StateWord(f[1]);
    row.reason = Trim(f[2]);
    row.nodes = Trim(f[4]);
    // A pending job's StartTime is when Slurm expects it to start: only a job that ran has one.
    if (fields >= 6 && row.state != "PENDING") row.started_at = ParseLocalTime(Trim(f[5]));
    int status = 0;
    if (IsFinalJobState(row.state) && ToInt(f[3], &status)) {
      // squeue's exit_code is the raw wait status: 768 is exit 3, 9 is SIGKILL.
      if (WIFSIGNALED(status)) {
        row.signal = WTERMSIG(status);
      } else {
        row.exit_code = WEXITSTATUS(status);
      }
    }
    rows.push_back(std::move(row));
  });
  return rows;
}

std::vector<SlurmJobRow> ParseSacct(std::string_view out) {
  std::vector<SlurmJobRow> rows;
  ForEachLine(out, [&](std::string_view line) {
    std::array<std::string_view, 4> f;
    if (SplitFields(line, &f) < 3 || !IsJobId(Trim(f[0]))) return;  // steps: "12.batch"
    SlurmJobRow row;
    row.id = Trim(f[0]);
    row.state = StateWord(f[1]);
    row.nodes = Trim(f[3]);
    // "status:signal": "3:0" is exit 3, "0:9" SIGKILL.
    std::string_view code = Trim(f[2]);
    size_t colon = code.find(':');
    int status = 0;
    int signal = 0;
    if (colon != std::string_view::npos && ToInt(code.substr(0, colon), &status) &&
        ToInt(code.substr(colon + 1), &signal)) {
      if (signal != 0) {
        row.signal = signal;
      } else {
        row.exit_code = status;
      }
    }
    rows.push_back(std::move(row));
  });
  return rows;
}

std::vector<NamedJob> ParseJobNames(std::string_view out, std::string_view prefix) {
  std::vector<NamedJob> jobs;
  while (!out.empty()) {
    size_t nl = out.find('\n');
    std::array<std::string_view, 3> f;
    // mex's job names have no '|' (slurm_submit.cc keeps [A-Za-z0-9._-] and '@').
    if (SplitFields(out.substr(0, nl), &f) == 3 && !f[0].empty() && f[1].starts_with(prefix)) {
      jobs.push_back({std::string(f[0]), std::string(f[1]), std::string(f[2])});
    }
    if (nl == std::string_view::npos) break;
    out.remove_prefix(nl + 1);
  }
  return jobs;
}

int ArrayElementOf(std::string_view array_script, std::string_view log_path) {
  // Element i's line: "  i) exec >>'LOG' 2>&1; exec 'SCRIPT' ;;".
  const std::string needle = ") exec >>" + SingleQuoted(log_path) + " 2>&1;";
  size_t at = array_script.find(needle);
  if (at == std::string_view::npos) return -1;
  size_t line = array_script.rfind('\n', at);
  line = line == std::string_view::npos ? 0 : line + 1;
  std::string_view number = array_script.substr(line, at - line);
  while (!number.empty() && number.front() == ' ') number.remove_prefix(1);
  int index = -1;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), index);
  return ec == std::errc() && end == number.data() + number.size() ? index : -1;
}

std::string JobIdOf(const ProcessRef& ref) {
  if (!ref.is_job() || ref.pgid <= 0) return "";
  std::string id = std::to_string(ref.pgid);
  if (ref.start_time > 0) id += "_" + std::to_string(ref.start_time - 1);  // an array's element
  return id;
}

bool IsFinalJobState(std::string_view state) {
  for (std::string_view final_state :
       {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
        "DEADLINE", "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT"}) {
    if (state == final_state) return true;
  }
  return false;
}

bool IsSubmitBackPressure(std::string_view err) {
  for (std::string_view text :
       {"QOSMaxSubmitJobPerUserLimit", "AssocMaxSubmitJobLimit", "MaxSubmitJobLimit",
        "Socket timed out", "Unable to contact slurm controller",
        "Resource temporarily unavailable", "slurm_persist_conn_open",
        "Job violates accounting/QOS policy (job submit limit"}) {
    if (err.find(text) != std::string_view::npos) return true;
  }
  return false;
}

bool IsSubmitLimit(std::string_view err) {
  for (std::string_view text : {"QOSMaxSubmitJobPerUserLimit", "AssocMaxSubmitJobLimit",
                                "MaxSubmitJobLimit", "(job submit limit"}) {
    if (err.find(text) != std::string_view::npos) return true;
  }
  return false;
}

int ParseMaxArraySize(std::string_view config) {
  int size = -1;
  ForEachLine(config, [&](std::string_view line) {
    line = Trim(line);
    if (!line.starts_with("MaxArraySize")) return;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos || Trim(line.substr(0, equals)) != "MaxArraySize") return;
    if (!ToInt(line.substr(equals + 1), &size) || size < 0) size = -1;
  });
  return size;
}

JobEnd EndOfJob(const SlurmJobRow& row) {
  JobEnd end;
  const std::string& s = row.state;
  if (s == "COMPLETED" || s == "FAILED" || s == "SPECIAL_EXIT") {
    end.exit_code = row.exit_code;
    end.signal = row.signal;
    if (end.exit_code < 0 && end.signal == 0) end.exit_code = s == "COMPLETED" ? 0 : 1;
    return end;
  }
  if (s == "OUT_OF_MEMORY") {
    end.reason = EndReason::kOutOfMemory;
    end.error = "slurm: OUT_OF_MEMORY (over its memory request)";
    return end;
  }
  end.reason = EndReason::kLost;
  if (s == "CANCELLED") {
    end.error = "slurm: CANCELLED outside mex (scancel)";
  } else if (s == "TIMEOUT") {
    end.error = "slurm: TIMEOUT (the job's time limit)";
  } else {
    end.error = "slurm: " + s + (row.nodes.empty() ? "" : " on " + row.nodes);
  }
  return end;
}

std::string SingleQuoted(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string BesideLog(std::string_view log_path, std::string_view suffix) {
  if (log_path.ends_with(".log")) log_path.remove_suffix(4);
  return std::string(log_path) + std::string(suffix);
}

std::string BatchScript(const AttemptSpec& spec) {
  std::string script = "#!/bin/sh\n# written by mex: the attempt's argv and environment, quoted\n";
  script += "cd " + SingleQuoted(spec.cwd) + " || exit 126\n";
  // env -i: the attempt's environment exactly, plus what Slurm tells the job about itself. A
  // child, not exec'ed: the script outlives it to write how it ended. Its stderr is the log, the
  // waiting shell's is not: a shell tells of a child killed by a signal ("Segmentation fault"),
  // and bash then quotes the command, environment included.
  script += "{ (exec env -i --";
  for (std::string_view name :
       {"SLURM_JOB_ID", "SLURM_JOB_NAME", "SLURM_JOB_NODELIST", "SLURM_CPUS_ON_NODE",
        "SLURM_MEM_PER_NODE", "SLURM_SUBMIT_DIR", "SLURMD_NODENAME", "CUDA_VISIBLE_DEVICES",
        "SLURM_JOB_GPUS", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"}) {
    std::string n(name);
    script += " ${" + n + "+\"" + n + "=$" + n + "\"}";
  }
  for (const std::string& variable : spec.env) script += " \\\n  " + SingleQuoted(variable);
  script += " \\\n ";
  for (const std::string& arg : spec.argv) script += " " + SingleQuoted(arg);
  script += spec.stdin_path.empty() ? " </dev/null" : " <" + SingleQuoted(spec.stdin_path);
  script += " 2>&3 3>&-); status=$?; } 3>&2 2>/dev/null\n";
  if (!spec.log_path.empty()) {
    // The exit marker, for mex to read when Slurm's accounting cannot say how the job ended:
    // written whole under a temp name in the same folder, then renamed.
    const std::string marker = BesideLog(spec.log_path, ".exit");
    const std::string temp = SingleQuoted(marker + ".tmp.") + "\"$$\"";
    script += "umask 077\nprintf '%s\\n' \"$status\" >" + temp + " && mv -f " + temp + " " +
              SingleQuoted(marker) + "\n";
  }
  // Killed by a signal, the command ends the job by it too, as it did when the script exec'ed
  // it: Slurm's record says so (FAILED 0:11, not exit 139). No core dump of the shell itself.
  script += "case $status in\n ";
  for (size_t i = 0; i < kReraisedSignals.size(); ++i) {
    script += (i == 0 ? " " : "|") + std::to_string(128 + kReraisedSignals[i]);
  }
  script += ") ulimit -c 0; kill -$((status - 128)) $$ ;;\nesac\nexit \"$status\"\n";
  return script;
}

bool ParseExitMarker(std::string_view text, SlurmJobRow* row) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  int status = -1;
  if (!IsDigits(text) || !ToInt(text, &status) || status > 255) return false;
  row->state = status == 0 ? "COMPLETED" : "FAILED";
  row->exit_code = status;
  row->signal = 0;
  if (std::find(kReraisedSignals.begin(), kReraisedSignals.end(), status - 128) !=
      kReraisedSignals.end()) {
    row->exit_code = -1;
    row->signal = status - 128;
  }
  return true;
}

std::string ArrayScript(const std::vector<ArrayElement>& elements) {
  std::string script =
      "#!/bin/sh\n# written by mex: element N of this job array runs its attempt's own job "
      "script, its output in that attempt's log\ncase \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (size_t i = 0; i < elements.size(); ++i) {
    // The log first, so that even a script that cannot start says so there.
    script += "  " + std::to_string(i) + ") exec >>" + SingleQuoted(elements[i].log_path) +
              " 2>&1; exec " + SingleQuoted(elements[i].script_path) + " ;;\n";
  }
  script += "esac\necho \"mex: no element $SLURM_ARRAY_TASK_ID in this array\" >&2\nexit 127\n";
  return script;
}

}  // namespace mex
