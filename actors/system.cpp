#include "actors/system.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>

#include "actors/errors.hpp"
#include "actors/type_ids.hpp"

namespace plantd::actors {

void configure(caf::actor_system_config& cfg, size_t threads) {
  cfg.add_message_types<caf::id_block::plantd>();
  cfg.add_error_category(caf::atom("plantd"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string out{to_string(static_cast<errc>(code))};
                           if (ctx.size() == 1 && ctx.match_element<std::string>(0))
                             out += ": " + ctx.get_as<std::string>(0);
                           else if (!ctx.empty())
                             out += ": " + to_string(ctx);
                           return out;
                         });
  cfg.set("scheduler.max-threads", threads);
}

}  // namespace plantd::actors
