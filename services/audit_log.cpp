#include "services/audit_log.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/util/time_util.h>

namespace plantd::services {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::util::TimeUtil;

constexpr std::size_t max_summary = 1000;
constexpr std::size_t max_summarized_bytes = 16 * 1024;
constexpr uint64_t trim_every = 1000;

bool secret_field(const FieldDescriptor* f) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING)
    return false;
  const auto& n = f->name();
  return n.find("password") != std::string::npos || n == "installer_code" || n == "token"
         || n == "secret";
}

// Replaces every secret string field, at any depth, with "<set>".
void scrub(Message& m) {
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (secret_field(f)) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(m, f); ++k)
          r->SetRepeatedString(&m, f, k, "<set>");
      } else if (r->HasField(m, f)) {
        r->SetString(&m, f, "<set>");
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(m, f); ++k)
          scrub(*r->MutableRepeatedMessage(&m, f, k));
      } else if (r->HasField(m, f)) {
        scrub(*r->MutableMessage(&m, f));
      }
    }
  }
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string_view code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

}  // namespace

audit_log::audit_log(std::shared_ptr<store::store> db, options opts)
  : db_(std::move(db)),
    opts_(std::move(opts)) {
  if (!opts_.now_ms)
    opts_.now_ms = wall_ms;
  seq_ = db_->last_call_audit_seq();
  tokens_ = opts_.refused_burst;
  refill_ms_ = opts_.now_ms();
}

std::string audit_log::summary(const Message& m) {
  auto size = m.ByteSizeLong();
  if (size > max_summarized_bytes)
    return fmt::format("{} of {} bytes", m.GetTypeName(), size);
  std::unique_ptr<Message> copy{m.New()};
  copy->CopyFrom(m);
  scrub(*copy);
  auto text = copy->ShortDebugString();
  if (text.size() > max_summary) {
    text.resize(max_summary);
    text += "...";
  }
  return text;
}

std::string audit_log::result_text(const grpc::Status& s) {
  if (s.ok())
    return "OK";
  auto msg = s.error_message();
  if (msg.size() > 300)
    msg = msg.substr(0, 300) + "...";
  return fmt::format("{}: {}", code_name(s.error_code()), msg);
}

void audit_log::record(v1::ChangeRecord rec, bool refused) {
  std::lock_guard guard{mtx_};
  auto now = opts_.now_ms();
  if (refused) {
    tokens_ =
      std::min(opts_.refused_burst,
               tokens_ + static_cast<double>(now - refill_ms_) / 1000.0 * opts_.refused_per_second);
    refill_ms_ = now;
    if (tokens_ < 1) {
      ++suppressed_;
      return;
    }
    tokens_ -= 1;
  }
  if (suppressed_ > 0) {
    rec.set_result(fmt::format("{} (and {} refused calls before it not recorded one by one)",
                               rec.result(), suppressed_));
    suppressed_ = 0;
  }
  rec.set_seq(++seq_);
  *rec.mutable_at() = TimeUtil::MillisecondsToTimestamp(now);
  (void)db_->append_call_audit(seq_, rec.SerializeAsString());
  if (seq_ % trim_every == 0)
    (void)db_->trim_call_audit(opts_.keep);
}

v1::AuditPage audit_log::list(const v1::AuditQuery& q) const {
  v1::AuditPage page;
  uint32_t limit = q.limit() == 0 ? 100 : std::min<uint32_t>(q.limit(), 1000);
  int64_t from = q.has_from() ? TimeUtil::TimestampToMilliseconds(q.from()) : INT64_MIN;
  int64_t to = q.has_to() ? TimeUtil::TimestampToMilliseconds(q.to()) : INT64_MAX;
  uint64_t last = 0;
  std::size_t scanned = 0;
  bool more = false;
  db_->each_call_audit(q.before_seq(), [&](uint64_t seq, std::string_view bytes) {
    if (page.records_size() >= static_cast<int>(limit)) {
      more = true;
      return false;
    }
    // A filter that matches little stops after 100,000 records: the next
    // page goes on from there.
    if (++scanned > 100000) {
      more = true;
      return false;
    }
    last = seq;
    v1::ChangeRecord r;
    if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return true;
    auto at = TimeUtil::TimestampToMilliseconds(r.at());
    if (at < from)
      return false;  // older ones are older still
    if (at >= to)
      return true;
    if (!q.principal().empty() && r.principal() != q.principal())
      return true;
    if (!q.method().empty() && r.method().find(q.method()) == std::string::npos)
      return true;
    if (q.refused_only() && (r.result() == "OK" || r.result().starts_with("OK ")))
      return true;
    *page.add_records() = std::move(r);
    return true;
  });
  page.set_next_before_seq(more ? last : 0);
  return page;
}

}  // namespace plantd::services
