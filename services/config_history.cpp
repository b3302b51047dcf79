#include "services/config_history.hpp"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "services/config_codec.hpp"

namespace plantd::services {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string message_json(const Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opt;
  opt.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opt);
  return out;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

// One value of a scalar field (index < 0: singular) as JSON.
std::string scalar_json(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return fmt::format("{}", rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return fmt::format("{}", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return fmt::format("{}", rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return fmt::format("{}", rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return fmt::format("{}", rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return fmt::format("{}", rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_STRING:
      return quoted(rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f));
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* v = rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f);
      return quoted(v->name());
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return message_json(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
  }
  return {};
}

std::string list_json(const Message& m, const FieldDescriptor* f) {
  std::string out = "[";
  int n = m.GetReflection()->FieldSize(m, f);
  for (int i = 0; i < n; ++i)
    out += (i ? "," : "") + scalar_json(m, f, i);
  return out + "]";
}

// google.protobuf.DoubleValue and its kind: one value that may be absent.
bool is_wrapper(const FieldDescriptor* f) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated())
    return false;
  const auto& name = f->message_type()->full_name();
  return name.starts_with("google.protobuf.") && name.ends_with("Value");
}

void diff_messages(const Message& a, const Message& b, const std::string& prefix,
                   std::vector<config_change>& out) {
  const auto* d = a.GetDescriptor();
  const Reflection* ra = a.GetReflection();
  const Reflection* rb = b.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->is_repeated()) {
      int na = ra->FieldSize(a, f);
      int nb = rb->FieldSize(b, f);
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        auto ja = list_json(a, f);
        auto jb = list_json(b, f);
        if (ja != jb)
          out.push_back({path, ja, jb});
        continue;
      }
      for (int k = 0; k < std::max(na, nb); ++k) {
        auto at = fmt::format("{}[{}]", path, k);
        if (k >= na)
          out.push_back({at, "", scalar_json(b, f, k)});
        else if (k >= nb)
          out.push_back({at, scalar_json(a, f, k), ""});
        else
          diff_messages(ra->GetRepeatedMessage(a, f, k), rb->GetRepeatedMessage(b, f, k), at, out);
      }
      continue;
    }
    if (is_wrapper(f)) {
      auto ja = ra->HasField(a, f) ? message_json(ra->GetMessage(a, f)) : std::string{};
      auto jb = rb->HasField(b, f) ? message_json(rb->GetMessage(b, f)) : std::string{};
      if (ja != jb)
        out.push_back({path, ja, jb});
      continue;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      diff_messages(ra->GetMessage(a, f), rb->GetMessage(b, f), path, out);
      continue;
    }
    auto ja = scalar_json(a, f, -1);
    auto jb = scalar_json(b, f, -1);
    if (ja != jb)
      out.push_back({path, ja, jb});
  }
}

}  // namespace

std::vector<config_change> diff_configs(const v1::PlantConfig& a, const v1::PlantConfig& b) {
  std::vector<config_change> out;
  diff_messages(a, b, "", out);
  return out;
}

expected<void, store::error> store_config_version(store::store& db, v1::PlantConfig cfg,
                                                  uint64_t version, const actors::change_info& info,
                                                  int64_t applied_at_ms,
                                                  std::optional<std::string_view> source) {
  redact_secrets(cfg);  // never in the database
  v1::ConfigVersion meta;
  meta.set_version(version);
  *meta.mutable_applied_at() =
    google::protobuf::util::TimeUtil::MillisecondsToTimestamp(applied_at_ms);
  meta.set_by(info.by);
  meta.set_origin(info.origin);
  meta.set_comment(info.comment);
  meta.set_based_on(info.based_on);
  meta.set_rollback_of(info.rollback_of);
  if (version > 1)
    if (auto before = stored_config(db, version - 1))
      for (auto& c : diff_configs(*before, cfg))
        meta.add_changed_fields(std::move(c.path));
  if (auto r = db.put_config(version, cfg.SerializeAsString(), source, meta.SerializeAsString());
      !r)
    return unexpected{r.error()};
  return {};
}

std::optional<v1::PlantConfig> stored_config(const store::store& db, uint64_t version) {
  auto bytes = db.config_version(version);
  v1::PlantConfig cfg;
  if (!bytes || !cfg.ParseFromString(*bytes))
    return std::nullopt;
  return cfg;
}

std::vector<v1::ConfigVersion> config_versions(const store::store& db, uint64_t before,
                                               std::size_t limit) {
  std::vector<v1::ConfigVersion> out;
  for (auto& e : db.config_history(before, limit)) {
    v1::ConfigVersion v;
    if (!e.info.empty())
      (void)v.ParseFromString(e.info);  // a version from before the history has none
    v.set_version(e.version);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace plantd::services
