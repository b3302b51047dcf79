// Interned strings and the energy model's id-sorted tables.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "model/common/atom.hpp"
#include "model/energy/model.hpp"

using namespace plantd;

TEST_CASE("atoms: equal strings share one copy that goes with the last use", "[atom]") {
  auto base = atom::interned();
  {
    atom a("b0w0e12.m.v");
    atom b(std::string("b0w0e12.m.v"));
    atom c = a;
    CHECK(a == b);
    CHECK(a.data() == b.data());  // one copy
    CHECK(atom::interned() == base + 1);
    atom d("b0w0e12.m");
    CHECK(d != a);
    CHECK(d < a);
    CHECK(a == "b0w0e12.m.v");
    CHECK(a == std::string("b0w0e12.m.v"));
    CHECK(fmt::format("[{}]", a) == "[b0w0e12.m.v]");
    CHECK(std::string(a) + "!" == "b0w0e12.m.v!");
    c = d;
    CHECK(c == d);
    CHECK(atom::interned() == base + 2);
  }
  CHECK(atom::interned() == base);
  atom empty, also("");
  CHECK(empty.empty());
  CHECK(empty == also);
  CHECK(empty.size() == 0);
  CHECK(std::string_view(empty.c_str()).empty());
  CHECK(atom::interned() == base);
}

TEST_CASE("atoms: strings of every length survive slabs filling, rooms are reused", "[atom]") {
  auto base = atom::interned();
  // Lengths from 1 to past the 1 KB of a slab's string, enough of them to
  // fill several 64 KB slabs; each one's text is its own.
  auto text = [](int i) { return fmt::format("{:0>{}}", i, 1 + (i * 37) % 1500); };
  std::size_t first_footprint = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<atom> held;
    for (int i = 0; i < 3000; ++i)
      held.emplace_back(text(i));
    REQUIRE(atom::interned() == base + 3000);
    for (int i = 0; i < 3000; ++i) {
      REQUIRE(held[i].size() == text(i).size());
      REQUIRE(held[i] == text(i));
      REQUIRE(held[i].c_str()[held[i].size()] == '\0');
      REQUIRE(held[i] == atom(text(i)));  // found again, not copied
    }
    // Every other one dropped and made again: the same room serves.
    for (int i = 0; i < 3000; i += 2)
      held[i] = atom();
    for (int i = 0; i < 3000; i += 2)
      held[i] = atom(text(i));
    for (int i = 0; i < 3000; ++i)
      REQUIRE(held[i] == text(i));
    if (round == 0)
      first_footprint = atom::footprint();
    else
      CHECK(atom::footprint() == first_footprint);  // nothing grew: freed rooms were reused
  }
  CHECK(atom::interned() == base);
  CHECK(sizeof(atom) == 4);
}

TEST_CASE("atoms: interned, copied and dropped from four threads at once", "[atom]") {
  auto base = atom::interned();
  {
    atom keep("shared-7");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([t] {
        std::mt19937 rng(static_cast<unsigned>(t));
        std::vector<atom> held;
        for (int i = 0; i < 20000; ++i) {
          atom a(fmt::format("shared-{}", rng() % 64));
          if (rng() % 3 == 0)
            held.push_back(a);
          if (held.size() > 50)
            held.erase(held.begin(), held.begin() + 25);
        }
      });
    for (auto& th : threads)
      th.join();
    CHECK(keep == "shared-7");
    CHECK(atom::interned() == base + 1);  // only `keep` is left
  }
  CHECK(atom::interned() == base);
}

TEST_CASE("tables: any order of insertions and removals reads as a sorted map", "[atom][energy]") {
  energy::table<int> t;
  std::map<std::string, int> ref;
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    auto id = fmt::format("n{}", rng() % 5000);
    switch (rng() % 4) {
      case 0:
      case 1: {
        int v = static_cast<int>(rng() % 1000);
        bool added = t.emplace(id, v).second;
        CHECK(added == ref.emplace(id, v).second);
        break;
      }
      case 2: t[id] = i, ref[id] = i; break;
      case 3: CHECK(t.erase(id) == ref.erase(id)); break;
    }
    if (i % 1000 == 0) {
      REQUIRE(t.size() == ref.size());
      auto r = ref.begin();
      for (const auto& [k, v] : t) {
        REQUIRE(r != ref.end());
        CHECK(k == r->first);
        CHECK(v == r->second);
        ++r;
      }
      CHECK(r == ref.end());
    }
  }
  for (const auto& [k, v] : ref) {
    REQUIRE(t.count(k) == 1);
    CHECK(t.at(k) == v);
    CHECK(t.find(k)->first == k);
  }
  CHECK(t.count("missing") == 0);
  CHECK(t.find("missing") == t.end());
  CHECK_THROWS_AS(t.at("missing"), std::out_of_range);
  // Iteration continues from a found record; erase returns the next one.
  auto it = t.find(ref.begin()->first);
  ++it;
  CHECK(it->first == std::next(ref.begin())->first);
  auto next = t.erase(t.find(ref.begin()->first));
  CHECK(next->first == std::next(ref.begin())->first);
}

TEST_CASE("tables: a bulk load sorts once and names the repeated ids", "[atom][energy]") {
  energy::table<int> t;
  t.append("c", 1);
  t.append("a", 2);
  t.append("c", 3);
  t.append("b", 4);
  auto dropped = t.sort();
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0] == "c");
  REQUIRE(t.size() == 3);
  CHECK(t.at("c") == 1);  // the first one given is kept
  std::string order;
  for (const auto& [k, v] : t)
    order += k.view();
  CHECK(order == "abc");
}

TEST_CASE("tables: ids put in order after a bulk load read in order", "[atom][energy]") {
  // Appended in the room a bulk load leaves, then past it (the rows move to
  // a new block), with ids among the loaded ones in the tail: every id in
  // order.
  energy::table<int> t;
  for (int i = 0; i < 10000; ++i)
    t.append(fmt::format("m{:06}", i), i);
  t.sort();
  // The first one goes in the room left: the loaded rows stay where they
  // are (moving them all is what made one new meter slow).
  const int* first = &t.at("m000000");
  t["m010000"] = 10000;
  CHECK(&t.at("m000000") == first);
  for (int i = 10001; i < 12000; ++i) {
    t[fmt::format("m{:06}", i)] = i;
    if (i % 7 == 0)
      t[fmt::format("m{:06}x", i - 5000)] = -i;  // one among the loaded ones
  }
  std::string last;
  std::size_t n = 0;
  for (const auto& [k, v] : t) {
    CHECK(last < std::string(k.view()));
    last = std::string(k.view());
    ++n;
  }
  CHECK(n == t.size());
  CHECK(n == 12000 + 2000 / 7 + 1);
  CHECK(t.at("m011999") == 11999);
  CHECK(t.at("m000000") == 0);
  CHECK(t.at("m005003x") == -10003);
}
