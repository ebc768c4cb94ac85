// Helpers bpfvm cannot perform in userspace (skb_change_type, skb_get_tunnel_key, perf counters,
// sockets, ...). Every helper id that has a name in helpers.def and no implementation in a table
// gets a stub here, so that such a program still loads and runs until it reaches the call: then
// the run stops with "helper skb_change_type (#32) is not supported in userspace", and callers
// report it as an input problem (kUnsupported, exit code 2), not as a fault of the program.
//
// One rule drives it: "named and not implemented". When the helper fact table (issue 7) lands,
// the same loop reads that table instead of helpers.def, and a helper given a documented
// userspace behaviour there simply gets an implementation and drops out of this set.
#include <array>
#include <string>
#include <utility>

#include "bpfvm/detail/helpers.hpp"
#include "bpfvm/isa.hpp"

namespace bpfvm::maps {
namespace {

template <uint32_t kId>
uint64_t unsupported_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->unsupported(unsupported_helper_message(kId));
    return 0;
}

template <uint32_t... kIds>
constexpr std::array<HelperFn, sizeof...(kIds)> make_stubs(std::integer_sequence<uint32_t, kIds...>) {
    return {&unsupported_helper<kIds>...};
}

}  // namespace

std::string unsupported_helper_message(uint32_t id) {
    const auto name = helper_name(static_cast<int>(id));
    return "helper " + std::string(name.empty() ? "?" : name) + " (#" + std::to_string(id) +
           ") is not supported in userspace";
}

void register_unsupported_helpers(HelperTable& table) {
    static constexpr auto kStubs = make_stubs(std::make_integer_sequence<uint32_t, kMaxHelperId>());
    for (uint32_t id = 1; id < kMaxHelperId; ++id)
        if (!table.has(id) && !helper_name(static_cast<int>(id)).empty()) table.set(id, kStubs[id]);
}

bool is_unsupported_helper(const HelperTable& table, uint32_t id) {
    static constexpr auto kStubs = make_stubs(std::make_integer_sequence<uint32_t, kMaxHelperId>());
    return id < kMaxHelperId && table.get(id) == kStubs[id];
}

}  // namespace bpfvm::maps
