// The energy-carbon records' keys and values: what is written reads back,
// keys sort as the records are read, and what is not a record is refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include <rocksdb/db.h>

#include "drivers/store/energy_records.hpp"
#include "drivers/store/store.hpp"
#include "test/support/temp_dir.hpp"

using namespace plantd;
namespace records = plantd::store::energy_records;

TEST_CASE("energy records: hours read back, sort by hour and refuse what is not one",
          "[store][energy_records]") {
  auto k = records::hour_key("ind.el", 482'000);
  CHECK(k == "hour/ind.el/0000000000075ad0");
  CHECK(k.starts_with(records::hours_of("ind.el")));
  auto v = records::encode_hour({12.5, quality::estimated});
  auto h = records::decode_hour(k, v);
  REQUIRE(h);
  CHECK(h->id == "ind.el");
  CHECK(h->index == 482'000);
  CHECK(h->r.value == 12.5);
  CHECK(h->r.quality == quality::estimated);
  CHECK(h->hour() == absl::CivilHour(1970, 1, 1, 0) + 482'000);
  // Hour 255 sorts before hour 256 (hex of fixed width).
  CHECK(records::hour_key("m", 255) < records::hour_key("m", 256));
  // An id with a slash keeps it.
  auto slashed_key = records::hour_key("a/b", 7);
  auto slashed = records::decode_hour(slashed_key, v);
  REQUIRE(slashed);
  CHECK(slashed->id == "a/b");
  // Not hours.
  CHECK_FALSE(records::decode_hour("entry/x/2026-01-01/01", v));
  CHECK_FALSE(records::decode_hour("hour/x/zz", v));
  CHECK_FALSE(records::decode_hour(k, "12.5"));
  CHECK_FALSE(records::decode_hour(k, "12.5\n99"));
  CHECK_FALSE(records::decode_hour(k, "twelve\n0"));
}

TEST_CASE("energy records: daily entries read back in the order they were made",
          "[store][energy_records]") {
  records::daily_entry e{"prod.steel",      absl::CivilDay(2026, 3, 9), 41.25, "anna\nlee",
                         1'773'000'000'000, "weighed\ntwice",           false};
  auto k1 = records::entry_key(e.id, e.day, 9);
  auto k2 = records::entry_key(e.id, e.day, 16);
  CHECK(k1 == "entry/prod.steel/2026-03-09/0000000000000009");
  CHECK(k1 < k2);
  CHECK(k1.starts_with(records::entries_of(e.id, e.day)));
  CHECK(records::entries_of(e.id, e.day).starts_with(records::entries_of(e.id)));
  // The next day's prefix sorts after every key of this day.
  CHECK(k2 < records::entries_of(e.id, e.day + 1));
  auto d = records::decode_entry(k2, records::encode_entry(e));
  REQUIRE(d);
  CHECK(d->id == e.id);
  CHECK(d->day == e.day);
  CHECK(d->value == e.value);
  CHECK(d->who == "anna lee");  // a newline never breaks the record
  CHECK(d->entered_ms == e.entered_ms);
  CHECK(d->note == e.note);  // the note is last: it keeps its lines
  CHECK(records::entry_seq(k2) == 16);
  CHECK_FALSE(records::decode_entry("entry/x/2026-13-40/01", records::encode_entry(e)));
  CHECK_FALSE(records::decode_entry("entry/x/01", records::encode_entry(e)));
  CHECK_FALSE(records::decode_entry(k1, "1\n2\nwho"));
  CHECK_FALSE(records::decode_entry(k1, "one\n2\nwho\nnote"));
}

TEST_CASE("energy records: the reading log, the counter, the journal and the audit",
          "[store][energy_records]") {
  records::logged_reading r{1'000, 12.5, 12.5, -1, false};
  auto back = records::decode_reading(1'000, records::encode_reading(r));
  REQUIRE(back);
  CHECK(back->in == 12.5);
  CHECK(back->out == 12.5);
  CHECK(back->prev == -1);
  CHECK_FALSE(back->swap);
  records::logged_reading swap{2'000, 99'999.5, 3.25, 1'000, true};
  back = records::decode_reading(2'000, records::encode_reading(swap));
  REQUIRE(back);
  CHECK(back->swap);
  CHECK(back->in == 99'999.5);
  CHECK(back->out == 3.25);
  CHECK(back->prev == 1'000);
  CHECK_FALSE(records::decode_reading(0, "x 1 2"));
  CHECK_FALSE(records::decode_reading(0, "s 1 2"));
  CHECK(records::reading_time(records::reading_key("m1", 1'700'000'000'123)) == 1'700'000'000'123);
  CHECK(records::reading_key("m1", 5) < records::reading_key("m1", 40));

  auto c = records::decode_counter(records::encode_counter(1'700'000'000'000, 123'456.75));
  REQUIRE(c);
  CHECK(c->first == 1'700'000'000'000);
  CHECK(c->second == 123'456.75);
  CHECK_FALSE(records::decode_counter("12"));

  CHECK(records::journal_seq(records::journal_key(300)) == 300u);
  CHECK(records::journal_key(9) < records::journal_key(10));
  CHECK_FALSE(records::journal_seq("model-journal/xyz"));
  CHECK_FALSE(records::journal_seq("hour/x/01"));

  auto a = records::decode_audit(records::audit_key(1'700'000'000'000, 4),
                                 records::audit_record("ops\nbot", "rename", "a\nb", "c"));
  REQUIRE(a);
  CHECK(a->time_ms == 1'700'000'000'000);
  CHECK(a->who == "ops bot");
  CHECK(a->what == "rename");
  CHECK(a->before == "a b");
  CHECK(a->after == "c");
  auto short_one = records::decode_audit(records::audit_key(5, 1), records::audit_record("x", "y"));
  REQUIRE(short_one);
  CHECK(short_one->what == "y");
  CHECK(short_one->before.empty());
  CHECK_FALSE(records::decode_audit("energy/nothex", "x\ny"));
}

TEST_CASE("alarms are stored as records and read back, a damaged one passed over and counted",
          "[store][alarms]") {
  test::temp_dir dir;
  alarms::alarm open;
  open.id = 7;
  open.code = "comm_lost";
  open.device = "C03";
  open.level = alarms::severity::major;
  open.text = "no answer from C03";
  open.raised_ms = 1'700'000'000'000;
  alarms::alarm closed = open;
  closed.id = 8;
  closed.cleared_ms = open.raised_ms + 5'000;
  closed.acked_ms = open.raised_ms + 9'000;
  closed.acked_by = "installer";
  {
    // A record this plantd cannot read (written by hand, or damaged).
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, {}},
                                                     {"alarms", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.path.string(), cfs, &handles, &raw).ok());
    REQUIRE(raw->Put({}, handles[1], std::string(7, '\0') + '\x09', "2\x1fnot an alarm").ok());
    for (auto* h : handles)
      raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  {
    auto s = store::store::open(dir.path);
    REQUIRE(s);
    REQUIRE(s.value()->put_alarm(open));
    REQUIRE(s.value()->put_alarm(closed));
  }
  auto s = store::store::open(dir.path);
  REQUIRE(s);
  std::string error;
  std::size_t undecodable = 99;
  auto all = s.value()->alarms(&error, &undecodable);
  CHECK(error.empty());
  CHECK(undecodable == 1);
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == 7);
  CHECK(all[0].code == "comm_lost");
  CHECK(all[0].device == "C03");
  CHECK(all[0].level == alarms::severity::major);
  CHECK(all[0].text == "no answer from C03");
  CHECK(all[0].open());
  CHECK(all[1].cleared_ms == closed.cleared_ms);
  CHECK(all[1].acked_ms == closed.acked_ms);
  CHECK(all[1].acked_by == "installer");
  // A record again replaces it.
  open.text = "C03 answers again";
  REQUIRE(s.value()->put_alarm(open));
  all = s.value()->alarms();
  REQUIRE(all.size() == 2);
  CHECK(all[0].text == "C03 answers again");
}
