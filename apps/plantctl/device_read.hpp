// plantctl device read: the installer's commissioning check. Reads every
// point of one device through its point table and prints engineering values.
#pragma once

#include <string>

namespace plantd::apps {

struct device_read_args {
  std::string pointtable;
  std::string tables_dir;  // extra point tables
  std::string tcp;         // HOST:PORT
  std::string rtu;         // serial device
  uint32_t baud = 9600;
  std::string parity = "N";
  int data_bits = 8;
  int stop_bits = 1;
  int unit = 1;
  double timeout_s = 1.0;
  bool json = false;
};

// Exit code: 0 every point read, 1 some requests failed, 2 usage (unknown
// table, bad address), 3 the device did not answer at all.
int device_read(const device_read_args& args);

}  // namespace plantd::apps
