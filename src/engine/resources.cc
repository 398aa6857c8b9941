#include "engine/resources.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <fstream>
#include <string>

namespace mex {

namespace {

constexpr double kMiB = 1024.0 * 1024;

// MemAvailable in bytes, or a negative number when it cannot be read.
double AvailableMemory() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string name; meminfo >> name;) {
    double kib = 0;
    meminfo >> kib;
    if (name == "MemAvailable:") return kib * 1024;
    meminfo.ignore(256, '\n');
  }
  return -1;
}

}  // namespace

std::string ResourceShortage(const ResourceWait& wait, const std::string& path) {
  std::string shortage;
  double memory = AvailableMemory();
  if (memory >= 0 && memory < wait.memory_bytes) {
    shortage = fmt::format("{:.0f} MiB of memory free, {:.0f} MiB wanted", memory / kMiB,
                           wait.memory_bytes / kMiB);
  }
  struct statvfs fs {};
  if (statvfs(path.c_str(), &fs) == 0) {
    double disk = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
    if (disk < wait.disk_bytes) {
      shortage += fmt::format("{}{:.0f} MiB of disk free, {:.0f} MiB wanted",
                              shortage.empty() ? "" : "; ", disk / kMiB, wait.disk_bytes / kMiB);
    }
  }
  return shortage;
}

}  // namespace mex
