#include "apps/plantctl/config_cmds.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "apps/plantctl/common.hpp"
#include "plantd/v1/plant_service.grpc.pb.h"
#include "services/config_codec.hpp"

namespace plantd::apps {

namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

std::string when(const pb::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0)
    return "-";
  auto s = pb::util::TimeUtil::ToString(t);
  return s.substr(0, std::min<std::size_t>(s.size(), 19)) + "Z";
}

void print_result(const control_opts& o, const v1::ApplyConfigResponse& r) {
  if (o.json) {
    std::cout << json_of(r);
    return;
  }
  if (!r.changed()) {
    std::cout << fmt::format("config version {}: nothing changed\n", r.version());
    return;
  }
  std::cout << fmt::format("config version {} in force (was {})\n", r.version(),
                           r.previous_version());
  for (const auto& f : r.changed_fields())
    std::cout << "  changed   " << f << "\n";
  for (const auto& d : r.devices_restarted())
    std::cout << "  restarted " << d << "\n";
  for (const auto& d : r.devices_started())
    std::cout << "  started   " << d << "\n";
  for (const auto& d : r.devices_stopped())
    std::cout << "  stopped   " << d << "\n";
  for (const auto& f : r.at_restart())
    std::cout << "  at the next start of plantd: " << f << "\n";
}

// "time_of_use" matches WORKING_MODE_TIME_OF_USE; the full name matches too.
const pb::EnumValueDescriptor* enum_value(const pb::EnumDescriptor* e, std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return c == '-' ? '_' : static_cast<char>(std::toupper(c));
  });
  for (int i = 0; i < e->value_count(); ++i) {
    const auto& name = e->value(i)->name();
    if (name == text || (name.size() > text.size() && name.ends_with("_" + text)))
      return e->value(i);
  }
  return nullptr;
}

template <class T>
std::optional<T> number(const std::string& s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

// Sets PATH of `msg` to VALUE; an error message when it cannot.
std::optional<std::string> set_path(pb::Message& msg, const std::string& path,
                                    const std::string& value) {
  pb::Message* m = &msg;
  std::string rest = path;
  while (true) {
    auto dot = rest.find('.');
    std::string part = rest.substr(0, dot);
    std::optional<int> index;
    if (auto br = part.find('['); br != std::string::npos) {
      auto close = part.find(']', br);
      auto n = close == std::string::npos ? std::nullopt
                                          : number<int>(part.substr(br + 1, close - br - 1));
      if (!n || close + 1 != part.size())
        return fmt::format("{}: a list index is [N]", part);
      index = *n;
      part = part.substr(0, br);
    }
    const auto* f = m->GetDescriptor()->FindFieldByName(part);
    if (!f)
      return fmt::format("\"{}\" is not a field of {}", part, m->GetDescriptor()->name());
    const auto* r = m->GetReflection();
    if (index) {
      if (!f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)
        return fmt::format("{} is not a list of groups", part);
      int size = r->FieldSize(*m, f);
      if (*index < 0 || *index > size)
        return fmt::format("{}[{}]: the list has {} element(s); [{}] adds one", part, *index, size,
                           size);
      m = *index == size ? r->AddMessage(m, f) : r->MutableRepeatedMessage(m, f, *index);
      if (dot == std::string::npos)
        return pb::util::JsonStringToMessage(value, m).ok()
                 ? std::nullopt
                 : std::optional<std::string>{"the value of a list element is JSON"};
      rest = rest.substr(dot + 1);
      continue;
    }
    if (dot != std::string::npos) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated())
        return fmt::format("{} has no fields", part);
      m = r->MutableMessage(m, f);
      rest = rest.substr(dot + 1);
      continue;
    }
    // The field to set.
    if (f->is_repeated() || f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // JSON for the whole field, through a message holding only it.
      std::unique_ptr<pb::Message> holder{m->New()};
      auto json = fmt::format("{{\"{}\": {}}}", f->name(), value);
      if (!pb::util::JsonStringToMessage(json, holder.get()).ok())
        return fmt::format("{}: give the value as JSON", part);
      r->ClearField(m, f);
      m->MergeFrom(*holder);  // the holder has only this field
      return std::nullopt;
    }
    auto bad = [&] { return fmt::format("{}: \"{}\" is not a {}", part, value, f->type_name()); };
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_BOOL:
        if (value == "true" || value == "on" || value == "yes" || value == "1")
          r->SetBool(m, f, true);
        else if (value == "false" || value == "off" || value == "no" || value == "0")
          r->SetBool(m, f, false);
        else
          return bad();
        return std::nullopt;
      case FieldDescriptor::CPPTYPE_INT32:
        if (auto v = number<int32_t>(value)) {
          r->SetInt32(m, f, *v);
          return std::nullopt;
        }
        return bad();
      case FieldDescriptor::CPPTYPE_INT64:
        if (auto v = number<int64_t>(value)) {
          r->SetInt64(m, f, *v);
          return std::nullopt;
        }
        return bad();
      case FieldDescriptor::CPPTYPE_UINT32:
        if (auto v = number<uint32_t>(value)) {
          r->SetUInt32(m, f, *v);
          return std::nullopt;
        }
        return bad();
      case FieldDescriptor::CPPTYPE_UINT64:
        if (auto v = number<uint64_t>(value)) {
          r->SetUInt64(m, f, *v);
          return std::nullopt;
        }
        return bad();
      case FieldDescriptor::CPPTYPE_FLOAT:
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        std::istringstream in{value};
        double v = 0;
        if (!(in >> v) || !in.eof())
          return bad();
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT)
          r->SetFloat(m, f, static_cast<float>(v));
        else
          r->SetDouble(m, f, v);
        return std::nullopt;
      }
      case FieldDescriptor::CPPTYPE_STRING: r->SetString(m, f, value); return std::nullopt;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* v = enum_value(f->enum_type(), value);
        if (!v) {
          std::string names;
          for (int i = 0; i < f->enum_type()->value_count(); ++i)
            names += (i ? ", " : "") + f->enum_type()->value(i)->name();
          return fmt::format("{}: \"{}\" is none of {}", part, value, names);
        }
        r->SetEnum(m, f, v);
        return std::nullopt;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: break;
    }
    return bad();
  }
}

}  // namespace

int config_apply(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                 const std::string& file, uint64_t base, const std::string& comment) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    std::cerr << fmt::format("plantctl: cannot read {}\n", file);
    return 2;
  }
  std::ostringstream text;
  text << in.rdbuf();
  problems found;
  auto parsed = services::parse_config_json(text.str(), found);
  if (!parsed) {
    for (const auto& p : found)
      std::cerr << fmt::format("{}: {}{}\n", file, p.path.empty() ? "" : p.path + ": ", p.message);
    return 1;
  }
  v1::ApplyConfigRequest req;
  *req.mutable_config() = std::move(*parsed);
  req.set_base_version(base);
  req.set_comment(comment.empty() ? "plantctl config apply " + file : comment);
  v1::ApplyConfigResponse resp;
  auto st = v1::PlantService::NewStub(ch)->ApplyConfig(context(o).get(), req, &resp);
  if (!st.ok())
    return call_failed(st);
  print_result(o, resp);
  return 0;
}

int config_set(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
               const std::string& path, const std::string& value, const std::string& comment) {
  auto plant = v1::PlantService::NewStub(ch);
  v1::GetConfigResponse running;
  if (auto st = plant->GetConfig(context(o).get(), {}, &running); !st.ok())
    return call_failed(st);
  v1::PatchConfigRequest req;
  *req.mutable_config() = running.config();
  if (auto err = set_path(*req.mutable_config(), path, value)) {
    std::cerr << fmt::format("plantctl: {}: {}\n", path, *err);
    return 2;
  }
  // A list is replaced whole: the mask names it, the rest of the path
  // was set above on the list read from plantd.
  req.mutable_update_mask()->add_paths(path.substr(0, path.find('[')));
  req.set_base_version(running.version());
  // Not the value: it may be a secret, and the comment is kept in the clear.
  req.set_comment(comment.empty() ? "plantctl config set " + path : comment);
  v1::ApplyConfigResponse resp;
  auto st = plant->PatchConfig(context(o).get(), req, &resp);
  if (!st.ok())
    return call_failed(st);
  print_result(o, resp);
  return 0;
}

int config_history(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, int last) {
  v1::ListConfigVersionsRequest req;
  req.set_page_size(static_cast<uint32_t>(last));
  v1::ListConfigVersionsResponse resp;
  auto st = v1::PlantService::NewStub(ch)->ListConfigVersions(context(o).get(), req, &resp);
  if (!st.ok())
    return call_failed(st);
  if (o.json) {
    std::cout << json_of(resp);
    return 0;
  }
  std::cout << fmt::format("{:>7}  {:<20}  {:<18}  {:<8}  {}\n", "VERSION", "APPLIED (UTC)", "BY",
                           "HOW", "CHANGED");
  for (const auto& v : resp.versions()) {
    std::string changed;
    for (int i = 0; i < v.changed_fields_size() && i < 3; ++i)
      changed += (i ? ", " : "") + v.changed_fields(i);
    if (v.changed_fields_size() > 3)
      changed += fmt::format(" (+{})", v.changed_fields_size() - 3);
    if (v.origin() == "rollback")
      changed = fmt::format("back to {}{}", v.rollback_of(), changed.empty() ? "" : ": " + changed);
    std::cout << fmt::format("{:>7}  {:<20}  {:<18}  {:<8}  {}\n", v.version(),
                             when(v.applied_at()), v.by().empty() ? "-" : v.by(),
                             v.origin().empty() ? "-" : v.origin(), changed);
  }
  return 0;
}

int config_diff(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, uint64_t from,
                uint64_t to) {
  v1::DiffConfigRequest req;
  req.set_from_version(from);
  req.set_to_version(to);
  v1::DiffConfigResponse resp;
  auto st = v1::PlantService::NewStub(ch)->DiffConfig(context(o).get(), req, &resp);
  if (!st.ok())
    return call_failed(st);
  if (o.json) {
    std::cout << json_of(resp);
    return 0;
  }
  std::cout << fmt::format("version {} -> {}: {} change{}\n", resp.from_version(),
                           resp.to_version(), resp.changes_size(),
                           resp.changes_size() == 1 ? "" : "s");
  for (const auto& c : resp.changes())
    std::cout << fmt::format("  {}: {} -> {}\n", c.field_path(),
                             c.before().empty() ? "(none)" : c.before(),
                             c.after().empty() ? "(none)" : c.after());
  return 0;
}

int config_rollback(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch,
                    uint64_t version, const std::string& comment) {
  v1::RollbackConfigRequest req;
  req.set_version(version);
  req.set_comment(comment);
  v1::ApplyConfigResponse resp;
  auto st = v1::PlantService::NewStub(ch)->RollbackConfig(context(o).get(), req, &resp);
  if (!st.ok())
    return call_failed(st);
  print_result(o, resp);
  return 0;
}

}  // namespace plantd::apps
