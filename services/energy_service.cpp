#include "services/energy_service.hpp"

#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/time_util.h>

#include "actors/energy_actor.hpp"
#include "actors/errors.hpp"
#include "actors/type_ids.hpp"
#include "services/access_gate.hpp"
#include "services/ask.hpp"
#include "services/energy_codec.hpp"
#include "services/entry_table.hpp"
#include "services/export.hpp"
#include "services/file_writer.hpp"
#include "services/model_table.hpp"
#include "services/request_time.hpp"

namespace plantd::services {

using energy::failure;
using energy::result;
using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::TimeUtil;

namespace {

// `who` fields name the authenticated caller; a request naming someone
// else is refused rather than recorded under a name it did not prove.
grpc::ServerUnaryReactor* not_the_caller(grpc::CallbackServerContext* ctx, const std::string& who) {
  auto name = caller_of(ctx).who.name;
  if (who.empty() || who == name)
    return nullptr;
  return finish(ctx,
                to_status(errc::invalid_argument, "who: plantd records the authenticated caller ("
                                                    + name + "); leave it empty"));
}

failure invalid(problems p) {
  return failure{errc::invalid_argument, std::move(p)};
}
failure invalid(std::string path, std::string msg) {
  return failure{errc::invalid_argument, {problem{std::move(path), std::move(msg)}}};
}

grpc::Status status_of(const failure& f) {
  return to_status(f.code, f.message());
}

// The time a model call may take: the client's deadline decides (2 s at
// least, 10 minutes at most), as a large import or report may need it.
std::chrono::milliseconds model_time(const grpc::CallbackServerContext& ctx) {
  return time_left(ctx, ask_timeout, std::chrono::minutes{10});
}

// Reads the model as it stands, off the energy actor: `use(view)` fills
// the response from the shared snapshot and returns the status.
template <class Use>
grpc::ServerUnaryReactor* with_view(caf::actor_system& sys, const actors::energy_api& dest,
                                    grpc::CallbackServerContext* ctx, Use use) {
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::model_view>(
    sys, dest, reactor, model_time(*ctx), [use](actors::model_view& v) { return use(v); },
    actors::energy_atom_v, actors::model_atom_v);
  return reactor;
}

// A change prepared from the model as it stands: `first` asks the energy
// actor for a `Basis` (a whole view for a workbook's plan, one record for
// an update's merge), `prepare(basis)` makes the edit off the actor (based
// on the version the basis has; nullopt: nothing to send) and
// `done(edited)` fills the response (nullopt when nothing was sent). An
// edit refused because the model changed meanwhile is prepared again from
// a new basis, three times at most, all within the call's time.
template <class First, class Basis, class Prepare, class Done>
class edit_job : public std::enable_shared_from_this<edit_job<First, Basis, Prepare, Done>> {
public:
  edit_job(actors::energy_api dest, grpc::ServerUnaryReactor* reactor,
           std::chrono::milliseconds timeout, First first, Prepare prepare, Done done)
    : dest_(std::move(dest)),
      reactor_(reactor),
      deadline_(std::chrono::steady_clock::now() + timeout),
      first_(std::move(first)),
      prepare_(std::move(prepare)),
      done_(std::move(done)) {}

  void run(caf::event_based_actor* self, int attempt) {
    auto me = this->shared_from_this();
    auto left = time_left();
    if (!left)
      return reactor_->Finish(to_status(errc::deadline_exceeded, "no time left for the change"));
    self->request(dest_, *left, actors::energy_atom_v, first_)
      .then(
        [me, self, attempt](Basis& basis) {
          expected<std::optional<actors::model_edit>, failure> e = me->prepare_(basis);
          if (!e)
            return me->reactor_->Finish(status_of(e.error()));
          if (!*e)
            return me->reactor_->Finish(me->done_(std::nullopt));
          auto left = me->time_left();
          if (!left)
            return me->reactor_->Finish(
              to_status(errc::deadline_exceeded, "no time left for the change"));
          self->request(me->dest_, *left, actors::energy_atom_v, std::move(**e))
            .then([me](actors::model_edited& r) { me->reactor_->Finish(me->done_(r)); },
                  [me, self, attempt](caf::error& err) {
                    if (actors::to_errc(err) == errc::aborted && attempt < 3)
                      return me->run(self, attempt + 1);
                    me->reactor_->Finish(to_status(err));
                  });
        },
        [me](caf::error& err) { me->reactor_->Finish(to_status(err)); });
  }

private:
  std::optional<std::chrono::milliseconds> time_left() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    return left;
  }

  actors::energy_api dest_;
  grpc::ServerUnaryReactor* reactor_;
  std::chrono::steady_clock::time_point deadline_;
  First first_;
  Prepare prepare_;
  Done done_;
};

template <class Basis, class First, class Prepare, class Done>
grpc::ServerUnaryReactor* edit_from(caf::actor_system& sys, const actors::energy_api& dest,
                                    grpc::CallbackServerContext* ctx, First first, Prepare prepare,
                                    Done done) {
  auto* reactor = ctx->DefaultReactor();
  auto job = std::make_shared<edit_job<First, Basis, Prepare, Done>>(
    dest, reactor, model_time(*ctx), std::move(first), std::move(prepare), std::move(done));
  sys.spawn([job](caf::event_based_actor* self) { job->run(self, 1); });
  return reactor;
}

// Sends a change of the model; `done(edited)` fills the response.
template <class Done>
grpc::ServerUnaryReactor* edit(caf::actor_system& sys, const actors::energy_api& dest,
                               grpc::CallbackServerContext* ctx, actors::model_edit e, Done done,
                               std::chrono::milliseconds cap = std::chrono::minutes{10}) {
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::model_edited>(
    sys, dest, reactor, time_left(*ctx, ask_timeout, cap),
    [done](actors::model_edited& r) { return done(r); }, actors::energy_atom_v, std::move(e));
  return reactor;
}

// Work for the energy unit of the node the request's target belongs to.
// `fill` makes the answer from the reply (an outcome per entry or reading,
// in the request's order).
template <class Resp, class F>
grpc::ServerUnaryReactor* call_unit(caf::actor_system& sys, const actors::energy_api& dest,
                                    grpc::CallbackServerContext* ctx, Resp* resp,
                                    actors::unit_request req, F fill) {
  auto* reactor = ctx->DefaultReactor();
  ask<actors::unit_reply>(
    sys, dest, reactor, [resp, fill](actors::unit_reply& r) { return fill(r, *resp); },
    actors::energy_atom_v, std::move(req));
  return reactor;
}

// The one outcome of a request of one entry, reading or swap: the call's
// status when it was refused.
grpc::Status single(const actors::unit_reply& r, const actors::unit_outcome** out) {
  if (r.outcomes.size() != 1)
    return to_status(errc::internal, "the energy unit answered " + std::to_string(r.outcomes.size())
                                       + " outcomes to one request");
  *out = &r.outcomes.front();
  if ((*out)->code != errc::ok)
    return to_status((*out)->code, (*out)->message);
  return grpc::Status::OK;
}

std::optional<absl::CivilDay> parse_day(const std::string& s) {
  absl::CivilDay d;
  if (s.size() != 10 || !absl::ParseCivilTime(s, &d))
    return std::nullopt;
  return d;
}

std::string day_text(absl::CivilDay d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

// A query as the model takes it: `strict`: an unknown indicator fails it
// (a report's columns).
expected<energy::query_spec, failure> spec_of(const v1::QueryRequest& q, bool strict) {
  energy::query_spec spec;
  spec.indicators.assign(q.indicators().begin(), q.indicators().end());
  spec.node = q.node();
  spec.strict = strict;
  if (auto r = energy::parse_span(q.resolution(), q.from(), q.to(), spec); !r)
    return unexpected{r.error()};
  return spec;
}

void series_to(const std::vector<energy::query_series>& series, v1::QueryResponse& r) {
  for (const auto& x : series) {
    auto* s = r.add_series();
    s->set_id(x.id);
    if (!x.error.empty()) {
      s->set_error(x.error);
      continue;
    }
    s->set_name(x.name);
    s->set_path(x.path);
    s->set_unit(x.unit);
    s->set_energy_type(x.energy_type);
    for (std::size_t i = 0; i < x.periods.size(); ++i) {
      s->add_periods(x.periods[i]);
      s->add_values(x.values[i]);
      s->add_quality(static_cast<v1::Quality>(static_cast<int>(x.qualities[i]) + 1));
    }
    for (const auto& v : x.versions) {
      auto* u = s->add_versions();
      u->set_what(v.what);
      u->set_version(v.version);
      u->set_source(v.source);
      u->set_value(v.value);
      u->set_first_period(v.first_period);
      u->set_last_period(v.last_period);
    }
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

grpc::ServerUnaryReactor* energy_service::GetModel(Ctx* ctx, const v1::GetModelRequest*,
                                                   v1::EnergyModel* resp) {
  if (auto* r = refused(ctx))
    return r;
  return with_view(sys_, energy_, ctx, [resp](const actors::model_view& v) {
    to_proto(*v.model, resp);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* energy_service::ImportModel(Ctx* ctx, const v1::EnergyModel* req,
                                                      v1::ImportModelResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  problems p;
  auto m = std::make_shared<const energy::model>(from_proto(*req, p));
  if (!p.empty())
    return finish(ctx, to_status(errc::invalid_argument, invalid(p).message()));
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::model_edited>(
    sys_, energy_, reactor, model_time(*ctx),
    [resp](actors::model_edited& r) {
      resp->set_indicators(static_cast<int>(r.indicators));
      return grpc::Status::OK;
    },
    actors::energy_atom_v, actors::model_replace{std::move(m), caller_of(ctx).who.name});
  return reactor;
}

namespace {

// A Put of one record as the model takes it. `path`: prefixed to the
// problems found ("items[3]." in a PutMany).
expected<actors::model_put, failure> prepare_put(const v1::PutRequest& q,
                                                 const std::string& path = {}) {
  problems p;
  actors::model_put out;
  out.create_only = q.create_only();
  switch (q.item_case()) {
    case v1::PutRequest::kEnergyType:
      out.record = from_proto(q.energy_type(), path + "energy_type.", p);
      break;
    case v1::PutRequest::kNode: out.record = from_proto(q.node(), path + "node.", p); break;
    case v1::PutRequest::kMeter: out.record = from_proto(q.meter(), path + "meter.", p); break;
    case v1::PutRequest::kProduct: out.record = from_proto(q.product()); break;
    case v1::PutRequest::kTemplate:
      out.record = from_proto(q.template_(), path + "template.", p);
      break;
    case v1::PutRequest::kIndicator:
      out.record = from_proto(q.indicator(), path + "indicator.", p);
      break;
    case v1::PutRequest::kEnterprise: out.record = from_proto(q.enterprise()); break;
    default: return unexpected{invalid(path + "item", "nothing to put")};
  }
  if (!p.empty())
    return unexpected{invalid(p)};
  return out;
}

// The answer to a put: an indicator's formula as stored and as shown.
grpc::Status put_answer(const actors::model_edited& r, v1::PutResponse& out) {
  out.set_formula(r.formula);
  out.set_formula_display(r.formula_display);
  return grpc::Status::OK;
}

const std::set<std::string>& record_kinds() {
  static const std::set<std::string> kinds{"energy_type", "node",      "meter",     "product",
                                           "template",    "indicator", "enterprise"};
  return kinds;
}

}  // namespace

grpc::ServerUnaryReactor* energy_service::Put(Ctx* ctx, const v1::PutRequest* req,
                                              v1::PutResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (auto* r = not_the_caller(ctx, req->who()))
    return r;
  auto put = prepare_put(*req);
  if (!put)
    return finish(ctx, status_of(put.error()));
  actors::model_edit e;
  e.puts.push_back(std::move(*put));
  e.who = caller_of(ctx).who.name;  // the caller, never what the request says
  return edit(sys_, energy_, ctx, std::move(e),
              [resp](actors::model_edited& r) { return put_answer(r, *resp); });
}

grpc::ServerUnaryReactor* energy_service::Get(Ctx* ctx, const v1::GetRecordRequest* req,
                                              v1::Record* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (!record_kinds().count(req->kind()))
    return finish(
      ctx, status_of(invalid("kind", fmt::format("\"{}\" is not a kind of record", req->kind()))));
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::record_answer>(
    sys_, energy_, reactor, model_time(*ctx),
    [kind = req->kind(), id = req->id(), resp](actors::record_answer& a) {
      if (!a.found)
        return status_of(
          failure{errc::not_found, {problem{"id", fmt::format("no {} {}", kind, id)}}});
      record_proto(a.record, a.formula_display, resp);
      return grpc::Status::OK;
    },
    actors::energy_atom_v, actors::record_request{req->kind(), req->id()});
  return reactor;
}

grpc::ServerUnaryReactor* energy_service::Update(Ctx* ctx, const v1::UpdateRequest* req,
                                                 v1::PutResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  std::string kind, id;
  const auto* given = item_of(req->record(), &kind, &id);
  if (!given)
    return finish(ctx, status_of(invalid("record", "name the record to update")));
  if (req->update_mask().paths().empty())
    return finish(ctx, status_of(invalid("update_mask", "name the fields to change")));
  problems bad;
  for (const auto& path : req->update_mask().paths()) {
    if (path == "id")
      bad.push_back({"update_mask", "the id names the record; it cannot change"});
    else if (!FieldMaskUtil::GetFieldDescriptors(given->GetDescriptor(), path, nullptr))
      bad.push_back({"update_mask", fmt::format("{} has no field \"{}\"", kind, path)});
  }
  if (!bad.empty())
    return finish(ctx, status_of(invalid(std::move(bad))));
  // Merged into the record as it stands, and put only if the model still
  // stands so when the put arrives.
  auto q = std::make_shared<const v1::UpdateRequest>(*req);
  std::string who = caller_of(ctx).who.name;
  auto prepare =
    [q, kind, id,
     who](const actors::record_answer& a) -> expected<std::optional<actors::model_edit>, failure> {
    if (!a.found)
      return unexpected{
        failure{errc::not_found, {problem{"record", fmt::format("no {} {}", kind, id)}}}};
    v1::Record current;
    record_proto(a.record, a.formula_display, &current);
    std::string k, i;
    auto* target = const_cast<google::protobuf::Message*>(item_of(current, &k, &i));
    FieldMaskUtil::MergeOptions opt;
    opt.set_replace_message_fields(true);
    opt.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(*item_of(q->record(), &k, &i), q->update_mask(), opt, target);
    // Record's item has PutRequest's field numbers: the same bytes.
    v1::PutRequest put_req;
    put_req.ParseFromString(current.SerializeAsString());
    auto put = prepare_put(put_req);
    if (!put)
      return unexpected{put.error()};
    actors::model_edit e;
    e.puts.push_back(std::move(*put));
    e.who = who;
    e.note = fmt::format("update {} {} ({})", kind, id, fmt::join(q->update_mask().paths(), ", "));
    e.base_version = a.version;
    return std::optional<actors::model_edit>{std::move(e)};
  };
  return edit_from<actors::record_answer>(sys_, energy_, ctx, actors::record_request{kind, id},
                                          std::move(prepare),
                                          [resp](const std::optional<actors::model_edited>& r) {
                                            return r ? put_answer(*r, *resp) : grpc::Status::OK;
                                          });
}

grpc::ServerUnaryReactor* energy_service::PutMany(Ctx* ctx, const v1::PutManyRequest* req,
                                                  v1::PutManyResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (req->items_size() > 100'000)
    return finish(
      ctx, to_status(errc::invalid_argument,
                     fmt::format("items: {} in one call; at most 100000", req->items_size())));
  actors::model_edit e;
  e.what = actors::model_edit::op::put_many;
  e.who = caller_of(ctx).who.name;
  e.puts.reserve(static_cast<std::size_t>(req->items_size()));
  for (int i = 0; i < req->items_size(); ++i) {
    auto put = prepare_put(req->items(i), fmt::format("items[{}].", i));
    if (!put)
      return finish(ctx, status_of(put.error()));
    e.puts.push_back(std::move(*put));
  }
  return edit(
    sys_, energy_, ctx, std::move(e),
    [resp](actors::model_edited& r) {
      resp->set_put(r.put);
      return grpc::Status::OK;
    },
    std::chrono::seconds(120));
}

grpc::ServerUnaryReactor* energy_service::Delete(Ctx* ctx, const v1::DeleteRequest* req,
                                                 v1::DeleteResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (auto* r = not_the_caller(ctx, req->who()))
    return r;
  if (!record_kinds().count(req->kind()) || req->kind() == "enterprise")
    return finish(
      ctx, status_of(invalid(
             "kind",
             fmt::format("\"{}\" is not energy_type, node, meter, product, template or indicator",
                         req->kind()))));
  actors::model_edit e;
  e.what = actors::model_edit::op::remove;
  e.kind = req->kind();
  e.id = req->id();
  e.who = caller_of(ctx).who.name;  // the caller, never what the request says
  return edit(sys_, energy_, ctx, std::move(e),
              [](actors::model_edited&) { return grpc::Status::OK; });
}

grpc::ServerUnaryReactor* energy_service::WhereUsed(Ctx* ctx, const v1::DeleteRequest* req,
                                                    v1::WhereUsedResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (auto* r = not_the_caller(ctx, req->who()))
    return r;
  if (!record_kinds().count(req->kind()) || req->kind() == "enterprise")
    return finish(
      ctx, status_of(invalid("kind", fmt::format("\"{}\" is not a kind of record", req->kind()))));
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::uses_answer>(
    sys_, energy_, reactor, model_time(*ctx),
    [resp](actors::uses_answer& a) {
      for (const auto& u : a.uses) {
        resp->add_uses(u.text);
        auto* x = resp->add_used_by();
        x->set_kind(u.kind);
        x->set_id(u.id);
        x->set_text(u.text);
      }
      return grpc::Status::OK;
    },
    actors::energy_atom_v, actors::uses_request{req->kind(), req->id()});
  return reactor;
}

grpc::ServerUnaryReactor* energy_service::ValidateFormula(Ctx* ctx,
                                                          const v1::ValidateFormulaRequest* req,
                                                          v1::ValidateFormulaResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  problems p;
  auto x = from_proto(req->indicator(), "indicator.", p);
  x.source = energy::source_kind::formula;
  if (!p.empty())
    return finish(ctx, status_of(invalid(p)));
  return with_view(sys_, energy_, ctx, [x, resp](const actors::model_view& v) {
    // Checked on a copy of the model, as a save would (cycles included).
    energy::model copy = *v.model;
    copy.reindex();
    auto res = copy.put_indicator(x);
    if (!res) {
      resp->set_valid(false);
      resp->set_error(res.error().message());
      auto c = energy::compile_formula(x.formula, copy, x);
      if (!c && copy.templates.count(x.template_id))
        resp->set_position(static_cast<int>(c.error().pos));
      return grpc::Status::OK;
    }
    resp->set_valid(true);
    resp->set_canonical(copy.indicators.at(x.id).formula);
    if (auto e = copy.formula_of(x.id))
      resp->set_display(energy::display(*e, copy));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* energy_service::EnterDaily(Ctx* ctx, const v1::EnterDailyRequest* req,
                                                     v1::EnterDailyResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  v1::EnterDailyRequest q = *req;
  if (auto* r = not_the_caller(ctx, q.who()))
    return r;
  q.set_who(caller_of(ctx).who.name);  // the caller, never what the request says
  auto day = parse_day(q.date());
  if (!day) {
    return finish(
      ctx, status_of(invalid("date", fmt::format("\"{}\" is not a date (YYYY-MM-DD)", q.date()))));
  }
  actors::unit_request work;
  work.what = actors::unit_request::op::enter_daily;
  work.target = q.id();
  work.who = q.who();
  work.entries = {{q.id(), *day - absl::CivilDay(1970, 1, 1), q.value(), q.note()}};
  return call_unit(sys_, energy_, ctx, resp, std::move(work),
                   [q, day = *day](const actors::unit_reply& reply, v1::EnterDailyResponse& r) {
                     const actors::unit_outcome* o = nullptr;
                     if (auto st = single(reply, &o); !st.ok())
                       return st;
                     auto* x = r.mutable_entry();
                     x->set_id(q.id());
                     x->set_date(day_text(day));
                     x->set_value(q.value());
                     x->set_who(q.who());
                     x->set_note(q.note());
                     *x->mutable_entered() = TimeUtil::MillisecondsToTimestamp(o->entered_ms);
                     r.set_correction(o->correction);
                     return grpc::Status::OK;
                   });
}

namespace {

// The days of an entries request (YYYY-MM-DD; empty: open).
grpc::Status entries_span(const std::string& from, const std::string& to,
                          actors::entries_request& er) {
  const absl::CivilDay epoch(1970, 1, 1);
  if (!from.empty()) {
    auto d = parse_day(from);
    if (!d)
      return to_status(errc::invalid_argument, "from: not a date (YYYY-MM-DD)");
    er.from = *d - epoch;
  }
  if (!to.empty()) {
    auto d = parse_day(to);
    if (!d)
      return to_status(errc::invalid_argument, "to: not a date (YYYY-MM-DD)");
    er.to = *d - epoch;
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerUnaryReactor* energy_service::ListEntries(Ctx* ctx, const v1::ListEntriesRequest* req,
                                                      v1::ListEntriesResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  actors::entries_request er;
  er.id = req->id();
  if (auto span = entries_span(req->from(), req->to(), er); !span.ok()) {
    return finish(ctx, span);
  }
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::entries_answer>(
    sys_, energy_, reactor, time_left(*ctx, ask_timeout, std::chrono::minutes{10}),
    [resp](actors::entries_answer& a) {
      for (const auto& e : a.entries) {
        auto* x = resp->add_entries();
        x->set_id(e.id);
        x->set_date(day_text(absl::CivilDay(1970, 1, 1) + e.day));
        x->set_value(e.value);
        x->set_who(e.who);
        x->set_note(e.note);
        x->set_superseded(e.superseded);
        *x->mutable_entered() = TimeUtil::MillisecondsToTimestamp(e.entered_ms);
      }
      return grpc::Status::OK;
    },
    actors::energy_atom_v, std::move(er));
  return reactor;
}

namespace {
// A counter event's name (energy::counter_event::kind).
const char* event_name(uint8_t kind) {
  switch (kind) {
    case energy::counter_event::rollover: return "rollover";
    case energy::counter_event::reset: return "reset";
    case energy::counter_event::swap: return "swap";
    case energy::counter_event::gap: return "gap";
    default: return "backwards";
  }
}
template <class Response>
void events_to(const std::vector<uint8_t>& kinds, Response& r) {
  for (auto k : kinds)
    r.add_events(event_name(k));
}
v1::ReadingFate fate_of(uint8_t fate) {
  switch (static_cast<actors::energy_unit::fate>(fate)) {
    case actors::energy_unit::fate::recorded: return v1::READING_RECORDED;
    case actors::energy_unit::fate::backfilled: return v1::READING_BACKFILLED;
    case actors::energy_unit::fate::duplicate: return v1::READING_DUPLICATE;
    case actors::energy_unit::fate::ignored: break;
  }
  return v1::READING_FATE_UNSPECIFIED;
}
constexpr int max_batch = 100'000;

struct batch_reading {
  uint32_t index = 0;
  int64_t t_ms = 0;
  double counter = 0;
};

void refuse_reading(v1::RecordReadingsResponse& r, uint32_t index, grpc::StatusCode code,
                    std::string why) {
  auto* x = r.add_results();
  x->set_index(index);
  x->set_code(static_cast<int32_t>(code));
  x->set_error(std::move(why));
  r.set_refused(r.refused() + 1);
}

void merge_readings(v1::RecordReadingsResponse& into, const v1::RecordReadingsResponse& part) {
  for (const auto& x : part.results())
    *into.add_results() = x;
  into.set_recorded(into.recorded() + part.recorded());
  into.set_backfilled(into.backfilled() + part.backfilled());
  into.set_duplicates(into.duplicates() + part.duplicates());
  into.set_refused(into.refused() + part.refused());
}

// Applies readings of any meters: grouped by meter, each meter's in time
// order (so a backlog is mostly recorded, not backfilled), one request per
// meter to its energy unit, all at once. `done` is called once, from an
// actor, with every reading's fate (indexes from `base`).
void record_readings(caf::actor_system& sys, const actors::energy_api& energy,
                     const google::protobuf::RepeatedPtrField<v1::RecordReadingRequest>& in,
                     uint32_t base, std::chrono::milliseconds timeout,
                     std::function<void(v1::RecordReadingsResponse)> done) {
  auto acc = std::make_shared<v1::RecordReadingsResponse>();
  auto groups = std::make_shared<std::map<std::string, std::vector<batch_reading>>>();
  for (int i = 0; i < in.size(); ++i) {
    auto index = base + static_cast<uint32_t>(i);
    problems bad;
    auto t = request_ms(in[i].time(), "time", bad);
    if (!in[i].has_time())
      bad.push_back({"time", "time is required"});
    if (in[i].meter().empty())
      bad.push_back({"meter", "meter is required"});
    if (!bad.empty()) {
      refuse_reading(*acc, index, grpc::StatusCode::INVALID_ARGUMENT,
                     failure{errc::invalid_argument, bad}.message());
      continue;
    }
    (*groups)[in[i].meter()].push_back({index, t, in[i].counter()});
  }
  for (auto& [meter, rs] : *groups)
    std::stable_sort(rs.begin(), rs.end(), [](const batch_reading& a, const batch_reading& b) {
      return a.t_ms < b.t_ms;
    });
  sys.spawn([=](caf::event_based_actor* self) {
    auto pending = std::make_shared<std::size_t>(groups->size());
    auto finish = [acc, done] {
      auto* rs = acc->mutable_results();
      std::sort(rs->begin(), rs->end(), [](const v1::ReadingResult& a, const v1::ReadingResult& b) {
        return a.index() < b.index();
      });
      done(std::move(*acc));
    };
    if (groups->empty())
      return finish();
    for (const auto& [meter, rs] : *groups) {
      actors::unit_request req;
      req.what = actors::unit_request::op::readings;
      req.target = meter;
      req.readings.reserve(rs.size());
      for (const auto& x : rs)
        req.readings.push_back({x.t_ms, x.counter});
      self->request(energy, timeout, actors::energy_atom_v, std::move(req))
        .then(
          [=, rs = rs](const actors::unit_reply& reply) {
            using f = actors::energy_unit::fate;
            for (std::size_t k = 0; k < rs.size(); ++k) {
              const auto& x = rs[k];
              if (k >= reply.outcomes.size()) {
                refuse_reading(*acc, x.index, grpc::StatusCode::INTERNAL,
                               "the energy unit gave no outcome for this reading");
                continue;
              }
              const auto& o = reply.outcomes[k];
              if (o.code != errc::ok) {
                refuse_reading(*acc, x.index, to_grpc_code(o.code), o.message);
                continue;
              }
              auto fate = static_cast<f>(o.fate);
              if (fate == f::recorded)
                acc->set_recorded(acc->recorded() + 1);
              if (fate == f::backfilled)
                acc->set_backfilled(acc->backfilled() + 1);
              if (fate == f::duplicate)
                acc->set_duplicates(acc->duplicates() + 1);
              if (fate == f::recorded && o.events.empty())
                continue;
              auto* y = acc->add_results();
              y->set_index(x.index);
              y->set_fate(fate_of(o.fate));
              events_to(o.events, *y);
            }
            if (--*pending == 0)
              finish();
          },
          [=, rs = rs](caf::error& e) {
            // The meter's unit did not answer (an unknown meter, a timeout):
            // each of its readings says so.
            auto st = to_status(e);
            for (const auto& x : rs)
              refuse_reading(*acc, x.index, st.error_code(), st.error_message());
            if (--*pending == 0)
              finish();
          });
    }
  });
}

// StreamReadings: each batch is applied before the next is read.
class readings_reader final : public grpc::ServerReadReactor<v1::RecordReadingsRequest> {
public:
  readings_reader(caf::actor_system& sys, actors::energy_api energy,
                  v1::RecordReadingsResponse* resp)
    : sys_(sys),
      energy_(std::move(energy)),
      resp_(resp) {
    StartRead(&req_);
  }
  void OnReadDone(bool ok) override {
    if (!ok)
      return Finish(grpc::Status::OK);
    if (req_.readings_size() > max_batch)
      return Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     fmt::format("a batch of {} readings (from reading {}): at most {} a batch; "
                                 "the readings before it were applied",
                                 req_.readings_size(), seen_, max_batch)));
    uint32_t base = seen_;
    seen_ += static_cast<uint32_t>(req_.readings_size());
    record_readings(sys_, energy_, req_.readings(), base, std::chrono::seconds(120),
                    [this](v1::RecordReadingsResponse r) {
                      merge_readings(*resp_, r);
                      StartRead(&req_);
                    });
  }
  void OnDone() override { delete this; }

private:
  caf::actor_system& sys_;
  actors::energy_api energy_;
  v1::RecordReadingsResponse* resp_;
  v1::RecordReadingsRequest req_;
  uint32_t seen_ = 0;
};

// A client stream that ends at once with the caller's refusal.
class refused_reader final : public grpc::ServerReadReactor<v1::RecordReadingsRequest> {
public:
  explicit refused_reader(grpc::Status s) { Finish(std::move(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::ReportChunk>*
energy_service::ExportEntries(Ctx* ctx, const v1::ExportEntriesRequest* req) {
  if (auto* r = refused_stream<v1::ReportChunk>(ctx))
    return r;
  auto* writer = new file_writer<v1::ReportChunk>();
  v1::ExportEntriesRequest q = *req;
  if (q.format() != "csv" && q.format() != "xlsx") {
    writer->fail(to_status(errc::invalid_argument,
                           fmt::format("format: \"{}\" is not csv or xlsx", q.format())));
    return writer;
  }
  actors::entries_request er;
  er.id = q.id();
  if (auto span = entries_span(q.from(), q.to(), er); !span.ok()) {
    writer->fail(span);
    return writer;
  }
  // The actor reads the entries; the file is written here.
  auto timeout = time_left(*ctx, std::chrono::seconds(5), std::chrono::seconds(120));
  std::string ext = q.format();
  sys_.spawn([=, dest = energy_](caf::event_based_actor* self) {
    self->request(dest, timeout, actors::energy_atom_v, er)
      .then(
        [=](actors::entries_answer& a) {
          absl::TimeZone tz;
          if (!absl::LoadTimeZone(a.time_zone, &tz))
            tz = absl::UTCTimeZone();
          std::vector<std::vector<std::string>> rows{
            {"date", "id", "value", "note", "who", "entered"}};
          for (const auto& e : a.entries) {
            if (e.superseded && !q.with_superseded())
              continue;
            rows.push_back(
              {day_text(absl::CivilDay(1970, 1, 1) + e.day), e.id, fmt::format("{}", e.value),
               e.note, e.who,
               absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(e.entered_ms), tz)});
          }
          if (q.format() == "csv")
            return writer->start(to_csv(rows), "entries." + ext);
          auto x = to_xlsx_sheet(rows, "entries", {0, 1, 3, 4, 5});
          if (!x)
            return writer->fail(to_status(errc::internal, x.error()));
          writer->start(std::move(*x), "entries." + ext);
        },
        [=](caf::error& err) { writer->fail(to_status(err)); });
  });
  return writer;
}

grpc::ServerWriteReactor<v1::ReportChunk>*
energy_service::ExportModelTable(Ctx* ctx, const v1::ExportModelTableRequest* req) {
  if (auto* r = refused_stream<v1::ReportChunk>(ctx))
    return r;
  auto* writer = new file_writer<v1::ReportChunk>();
  std::string lang = req->language();
  if (!lang.empty() && lang != "zh" && lang != "en") {
    writer->fail(
      to_status(errc::invalid_argument, fmt::format("language: \"{}\" is not zh or en", lang)));
    return writer;
  }
  // The workbook is written here, from the model as it stands.
  auto timeout = time_left(*ctx, std::chrono::seconds(5), std::chrono::seconds(120));
  sys_.spawn([=, dest = energy_](caf::event_based_actor* self) {
    self->request(dest, timeout, actors::energy_atom_v, actors::model_atom_v)
      .then(
        [=](actors::model_view& v) {
          v1::EnergyModel m;
          to_proto(*v.model, &m);
          bool zh = (lang.empty() ? m.enterprise().language() : lang) != "en";
          auto x = to_xlsx_sheets(model_sheets(m, zh));
          if (!x)
            return writer->fail(to_status(errc::internal, x.error()));
          writer->start(std::move(*x), "energy-model.xlsx");
        },
        [=](caf::error& err) { writer->fail(to_status(err)); });
  });
  return writer;
}

grpc::ServerUnaryReactor* energy_service::ImportModelTable(Ctx* ctx,
                                                           const v1::ImportModelTableRequest* req,
                                                           v1::ImportModelTableResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (req->data().size() > (32u << 20))
    return finish(ctx, to_status(errc::invalid_argument, "data: at most 32 MB"));
  auto sheets = read_xlsx_sheets(req->data());
  if (!sheets)
    return finish(ctx, to_status(errc::invalid_argument, "data: " + sheets.error()));
  auto tables = std::make_shared<const std::vector<named_table>>(std::move(*sheets));
  bool dry_run = req->dry_run();
  std::string who = caller_of(ctx).who.name;
  // Planned and tried on a copy of the model as it stands; the rows that
  // all went in are sent as one change, in the order they went in.
  auto prepare =
    [tables, dry_run, who,
     resp](const actors::model_view& v) -> expected<std::optional<actors::model_edit>, failure> {
    auto& r = *resp;
    r.Clear();  // a second attempt starts anew
    v1::EnergyModel current;
    to_proto(*v.model, &current);
    auto plan = plan_model_import(*tables, current);
    for (const auto& p : plan.puts)
      p.create ? r.set_created(r.created() + 1) : r.set_updated(r.updated() + 1);
    r.set_unchanged(plan.unchanged);
    auto refuse = [&r](const std::string& sheet, int line, const std::string& why) {
      auto* x = r.add_refused();
      x->set_sheet(sheet);
      x->set_line(line);
      x->set_reason(why);
    };
    for (const auto& x : plan.refused)
      refuse(x.sheet, x.line, x.reason);
    // Every Put in turn, again and again while some go in: a row may name
    // a record a later row creates (a meter's unit, a formula's
    // indicator). What is still refused then is refused for good.
    energy::model next = *v.model;
    std::vector<actors::model_put> order;
    std::vector<std::size_t> pending(plan.puts.size());
    std::iota(pending.begin(), pending.end(), std::size_t{0});
    std::map<std::size_t, std::string> why;
    for (bool progress = true; progress && !pending.empty();) {
      progress = false;
      std::vector<std::size_t> still;
      for (auto i : pending) {
        auto put = prepare_put(plan.puts[i].put);
        auto res = put ? actors::put_into(next, *put) : result{unexpected{put.error()}};
        if (res) {
          progress = true;
          why.erase(i);
          order.push_back(std::move(*put));
        } else {
          why[i] = res.error().message();
          still.push_back(i);
        }
      }
      pending = std::move(still);
    }
    for (auto i : pending)
      refuse(plan.puts[i].sheet, plan.puts[i].line, why[i]);
    // Refused rows by sheet (in the workbook's order), then row.
    std::map<std::string, std::size_t> sheet_at;
    for (std::size_t i = 0; i < tables->size(); ++i)
      sheet_at.emplace((*tables)[i].name, i);
    auto* rs = r.mutable_refused();
    std::stable_sort(rs->begin(), rs->end(), [&](const auto& a, const auto& b) {
      return std::pair(sheet_at[a.sheet()], a.line()) < std::pair(sheet_at[b.sheet()], b.line());
    });
    if (dry_run || r.refused_size() > 0 || order.empty())
      return std::optional<actors::model_edit>{};
    actors::model_edit e;
    e.what = actors::model_edit::op::put_many;
    e.puts = std::move(order);
    e.who = who;
    e.note =
      fmt::format("import of a model workbook: {} created, {} updated", r.created(), r.updated());
    e.base_version = v.version;
    return std::optional<actors::model_edit>{std::move(e)};
  };
  return edit_from<actors::model_view>(sys_, energy_, ctx, actors::model_atom_v, std::move(prepare),
                                       [resp, dry_run](const std::optional<actors::model_edited>&) {
                                         // Sent and done, or nothing to change.
                                         resp->set_applied(!dry_run && resp->refused_size() == 0);
                                         return grpc::Status::OK;
                                       });
}

grpc::ServerUnaryReactor* energy_service::ImportEntries(Ctx* ctx,
                                                        const v1::ImportEntriesRequest* req,
                                                        v1::ImportEntriesResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto fail = [&](std::string why) {
    reactor->Finish(to_status(errc::invalid_argument, std::move(why)));
    return reactor;
  };
  if (req->data().size() > (32u << 20))
    return fail("data: at most 32 MB");
  if (req->format() != "csv" && req->format() != "xlsx")
    return fail(fmt::format("format: \"{}\" is not csv or xlsx", req->format()));
  auto table = req->format() == "csv" ? read_csv(req->data()) : read_xlsx(req->data());
  if (!table)
    return fail("data: " + table.error());
  auto parsed = entries_from(*table);
  if (!parsed)
    return fail("data: " + parsed.error());
  if (parsed->rows.size() > 100'000)
    return fail(fmt::format("data: {} entries; at most 100000 a call", parsed->rows.size()));
  auto acc = std::make_shared<v1::ImportEntriesResponse>();
  for (auto& r : parsed->refused) {
    auto* x = acc->add_refused();
    x->set_line(r.line);
    x->set_reason(std::move(r.reason));
  }
  auto groups = std::make_shared<std::map<std::string, std::vector<entry_row>>>();
  for (auto& r : parsed->rows) {
    if (r.note.empty())
      r.note = req->note();
    (*groups)[r.id].push_back(std::move(r));
  }
  std::string who = caller_of(ctx).who.name;
  auto timeout = time_left(*ctx, std::chrono::seconds(5), std::chrono::seconds(300));
  sys_.spawn([=, energy = energy_](caf::event_based_actor* self) {
    auto pending = std::make_shared<std::size_t>(groups->size());
    auto finish = [acc, reactor, resp] {
      auto* rs = acc->mutable_refused();
      std::stable_sort(
        rs->begin(), rs->end(),
        [](const v1::RefusedRow& a, const v1::RefusedRow& b) { return a.line() < b.line(); });
      *resp = std::move(*acc);
      reactor->Finish(grpc::Status::OK);
    };
    if (groups->empty())
      return finish();
    for (const auto& [id, rows] : *groups) {
      actors::unit_request ureq;
      ureq.what = actors::unit_request::op::enter_daily;
      ureq.target = id;
      ureq.who = who;
      for (const auto& e : rows)
        ureq.entries.push_back({e.id, e.day - absl::CivilDay(1970, 1, 1), e.value, e.note});
      self->request(energy, timeout, actors::energy_atom_v, std::move(ureq))
        .then(
          [=, rows = rows](const actors::unit_reply& reply) {
            for (std::size_t k = 0; k < rows.size(); ++k) {
              const auto* o = k < reply.outcomes.size() ? &reply.outcomes[k] : nullptr;
              if (!o || o->code != errc::ok) {
                auto* x = acc->add_refused();
                x->set_line(rows[k].line);
                x->set_reason(o ? o->message : "the energy unit gave no outcome for this row");
                continue;
              }
              acc->set_entered(acc->entered() + 1);
              if (o->correction)
                acc->set_corrections(acc->corrections() + 1);
            }
            if (--*pending == 0)
              finish();
          },
          [=, rows = rows](caf::error& e) {
            auto st = to_status(e);
            for (const auto& r : rows) {
              auto* x = acc->add_refused();
              x->set_line(r.line);
              x->set_reason(st.error_message());
            }
            if (--*pending == 0)
              finish();
          });
    }
  });
  return reactor;
}

grpc::ServerUnaryReactor* energy_service::RecordReadings(Ctx* ctx,
                                                         const v1::RecordReadingsRequest* req,
                                                         v1::RecordReadingsResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  if (req->readings_size() > max_batch) {
    reactor->Finish(
      to_status(errc::invalid_argument, fmt::format("readings: {} in one call; at most {}",
                                                    req->readings_size(), max_batch)));
    return reactor;
  }
  record_readings(sys_, energy_, req->readings(), 0,
                  time_left(*ctx, std::chrono::seconds(5), std::chrono::seconds(120)),
                  [reactor, resp](v1::RecordReadingsResponse r) {
                    *resp = std::move(r);
                    reactor->Finish(grpc::Status::OK);
                  });
  return reactor;
}

grpc::ServerReadReactor<v1::RecordReadingsRequest>*
energy_service::StreamReadings(Ctx* ctx, v1::RecordReadingsResponse* resp) {
  if (auto auth = caller_of(ctx); !auth.status.ok())
    return new refused_reader(auth.status);
  return new readings_reader(sys_, energy_, resp);
}

namespace {

// The time a reading or a swap happened: required.
template <class Req>
expected<int64_t, failure> required_time(const Req& q) {
  problems bad;
  auto at = request_ms(q.time(), "time", bad);
  if (!q.has_time())
    bad.push_back({"time", "time is required"});
  if (!bad.empty())
    return unexpected{invalid(std::move(bad))};
  return at;
}

// A reading's or a swap's answer: its counter events (and a reading's
// fate), or the call's status when it was refused.
grpc::Status reading_answer(const actors::unit_reply& reply, v1::RecordReadingResponse& r,
                            bool with_fate) {
  const actors::unit_outcome* o = nullptr;
  if (auto st = single(reply, &o); !st.ok())
    return st;
  events_to(o->events, r);
  if (with_fate)
    r.set_fate(fate_of(o->fate));
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerUnaryReactor* energy_service::RecordReading(Ctx* ctx,
                                                        const v1::RecordReadingRequest* req,
                                                        v1::RecordReadingResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  v1::RecordReadingRequest q = *req;
  auto at = required_time(q);
  if (!at) {
    return finish(ctx, to_status(errc::invalid_argument, at.error().message()));
  }
  actors::unit_request work;
  work.what = actors::unit_request::op::reading;
  work.target = q.meter();
  work.readings = {{*at, q.counter()}};
  return call_unit(sys_, energy_, ctx, resp, std::move(work),
                   [](const actors::unit_reply& reply, v1::RecordReadingResponse& r) {
                     return reading_answer(reply, r, true);
                   });
}

grpc::ServerUnaryReactor* energy_service::SwapMeter(Ctx* ctx, const v1::SwapMeterRequest* req,
                                                    v1::RecordReadingResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  v1::SwapMeterRequest q = *req;
  auto at = required_time(q);
  if (!at) {
    return finish(ctx, to_status(errc::invalid_argument, at.error().message()));
  }
  actors::unit_request work;
  work.what = actors::unit_request::op::swap;
  work.target = q.meter();
  work.t_ms = *at;
  work.old_final = q.old_final();
  work.new_initial = q.new_initial();
  return call_unit(sys_, energy_, ctx, resp, std::move(work),
                   [](const actors::unit_reply& reply, v1::RecordReadingResponse& r) {
                     return reading_answer(reply, r, false);
                   });
}

grpc::ServerUnaryReactor* energy_service::Query(Ctx* ctx, const v1::QueryRequest* req,
                                                v1::QueryResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  auto* reactor = ctx->DefaultReactor();
  auto spec = spec_of(*req, false);
  if (!spec) {
    reactor->Finish(to_status(spec.error().code, spec.error().message()));
    return reactor;
  }
  ask_within<actors::energy_answer>(
    sys_, energy_, reactor, time_left(*ctx, ask_timeout, std::chrono::minutes{10}),
    [resp](actors::energy_answer& a) {
      series_to(a.series, *resp);
      return grpc::Status::OK;
    },
    actors::energy_atom_v, actors::energy_query{std::move(*spec)});
  return reactor;
}

namespace {

// An energy report as CSV or a workbook: the query's answer `r`, labels in
// `language` (zh or en), periods starting in `tz`.
std::pair<errc, std::string> render_report(const v1::ExportReportRequest& q,
                                           const v1::QueryResponse& r,
                                           const std::vector<energy::period>& periods,
                                           const std::string& language, const absl::TimeZone& tz) {
  std::string lang = q.language().empty() ? language : q.language();
  if (lang != "zh" && lang != "en")
    return {errc::invalid_argument, fmt::format("language: \"{}\" is not zh or en", q.language())};
  bool zh = lang == "zh";
  auto quality_word = [zh](v1::Quality v) -> std::string {
    auto q = static_cast<quality>(static_cast<int>(v) - 1);
    if (!zh)
      return std::string(to_string(q));
    switch (q) {
      case quality::measured: return "实测";
      case quality::estimated: return "估算";
      case quality::manual: return "人工";
      case quality::missing: return "缺失";
      case quality::stale: return "过期";
      case quality::invalid: return "无效";
    }
    return std::string(to_string(q));
  };
  std::string period_word = zh ? "时段" : "period";
  if (q.format() == "csv") {
    std::string out = period_word;
    for (const auto& s : r.series())
      out += ","
             + csv_field(fmt::format("{}:{} ({})", s.path().substr(0, s.path().rfind(':')),
                                     s.name(), s.unit()))
             + "," + (zh ? "质量" : "quality");
    out += "\n";
    int n = r.series_size() ? r.series(0).periods_size() : 0;
    for (int i = 0; i < n; ++i) {
      out += r.series(0).periods(i);
      for (const auto& s : r.series()) {
        bool has = s.quality(i) != v1::QUALITY_MISSING && s.quality(i) != v1::QUALITY_INVALID;
        out += "," + (has ? fmt::format("{}", s.values(i)) : std::string()) + ","
               + quality_word(s.quality(i));
      }
      out += "\n";
    }
    return {errc::ok, out};
  }
  export_table t;
  t.time_header = period_word;
  for (const auto& s : r.series())
    t.columns.push_back(fmt::format("{} ({})", s.path(), s.unit()));
  for (std::size_t i = 0; i < periods.size(); ++i) {
    auto start = absl::ToUnixMillis(tz.At(energy::start_of(periods[i])).pre);
    t.labels[start] = energy::label(periods[i]);
    auto& row = t.rows[start];
    for (const auto& s : r.series()) {
      bool has = s.quality(i) != v1::QUALITY_MISSING && s.quality(i) != v1::QUALITY_INVALID;
      row.push_back(has ? std::optional<double>(s.values(i)) : std::nullopt);
    }
  }
  auto x = to_xlsx(t, zh ? "能源报表" : "Energy report");
  if (!x)
    return {errc::internal, x.error()};
  return {errc::ok, *x};
}

}  // namespace

grpc::ServerWriteReactor<v1::ReportChunk>*
energy_service::ExportReport(Ctx* ctx, const v1::ExportReportRequest* req) {
  if (auto* r = refused_stream<v1::ReportChunk>(ctx))
    return r;
  auto* writer = new file_writer<v1::ReportChunk>();
  v1::ExportReportRequest q = *req;
  if (q.format() != "csv" && q.format() != "xlsx") {
    writer->fail(to_status(errc::invalid_argument,
                           fmt::format("format: \"{}\" is not csv or xlsx", q.format())));
    return writer;
  }
  auto spec = spec_of(q.query(), true);
  if (!spec) {
    writer->fail(to_status(spec.error().code, spec.error().message()));
    return writer;
  }
  // The actor runs the query (its graph); the report is rendered here, so
  // a large one never holds up the model's other requests.
  actors::energy_query eq{*spec};
  std::string fmt_ = q.format();
  auto timeout = time_left(*ctx, std::chrono::seconds(5), std::chrono::seconds(120));
  sys_.spawn([=, dest = energy_](caf::event_based_actor* self) {
    self->request(dest, timeout, actors::energy_atom_v, eq)
      .then(
        [=](actors::energy_answer& a) {
          v1::QueryResponse r;
          series_to(a.series, r);
          absl::TimeZone tz;
          if (!absl::LoadTimeZone(a.time_zone, &tz))
            tz = absl::UTCTimeZone();
          auto [code, out] = render_report(q, r, energy::periods_of(eq.spec), a.language, tz);
          if (code != errc::ok)
            return writer->fail(to_status(code, out));
          writer->start(std::move(out), "energy-report." + fmt_);
        },
        [=](caf::error& err) { writer->fail(to_status(err)); });
  });
  return writer;
}

grpc::ServerUnaryReactor* energy_service::GetCoverage(Ctx* ctx, const v1::GetCoverageRequest*,
                                                      v1::GetCoverageResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  return with_view(sys_, energy_, ctx, [resp](const actors::model_view& v) {
    for (const auto& c : energy::metering_coverage(*v.model)) {
      auto* x = resp->add_rows();
      x->set_energy_type(c.energy_type);
      x->set_level(c.level);
      x->set_using_units(c.using_units);
      x->set_metered_units(c.metered_units);
      x->set_rate_percent(c.rate_percent);
      x->set_required_percent(c.required_percent);
      x->set_meets(c.meets());
      for (const auto& u : c.unmetered)
        x->add_unmetered(u);
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* energy_service::ListAudit(Ctx* ctx, const v1::ListAuditRequest* req,
                                                    v1::ListAuditResponse* resp) {
  if (auto* r = refused(ctx))
    return r;
  if (req->limit() > 10'000)
    return finish(ctx, status_of(invalid("limit", "at most 10,000 records at once")));
  problems bad;
  actors::audit_request q;
  if (req->has_from())
    q.from_ms = request_ms(req->from(), "from", bad);
  if (req->has_to())
    q.to_ms = request_ms(req->to(), "to", bad);
  if (!bad.empty())
    return finish(ctx, status_of(invalid(std::move(bad))));
  q.limit = req->limit() ? req->limit() : 100;
  auto* reactor = ctx->DefaultReactor();
  ask_within<actors::audit_answer>(
    sys_, energy_, reactor, model_time(*ctx),
    [resp](actors::audit_answer& a) {
      for (const auto& e : a.records) {
        auto* x = resp->add_records();
        *x->mutable_time() = TimeUtil::MillisecondsToTimestamp(e.time_ms);
        x->set_who(e.who);
        x->set_what(e.what);
        x->set_before(e.before);
        x->set_after(e.after);
      }
      return grpc::Status::OK;
    },
    actors::energy_atom_v, q);
  return reactor;
}

}  // namespace plantd::services
