// The fuzz loop behind `bpfvm fuzz` (include/bpfvm/runners/fuzz.hpp). Coverage is the set of
// (program, instruction, outcome) pairs the checked interpreter counted, bucketed by hit count as
// libFuzzer does (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+): an input that reaches a new pair or a
// new bucket joins the corpus. Mutations are byte-level, plus "dictionary" writes of the constants
// the program itself compares with (jump immediates, in 1/2/4/8 bytes, both byte orders), which is
// how a 4-byte magic value at some offset is found in seconds rather than never.
//
// Determinism: one std::mt19937_64 from the seed drives every choice and nothing depends on time
// except the optional duration limit, so a seed and an execution budget give the same run.
#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <tuple>

#include "bpfvm/io.hpp"
#include "bpfvm/runners/fuzz.hpp"
#include "bpfvm/runners/run.hpp"

namespace bpfvm {
namespace {

constexpr size_t kMinPacket = 14;    // ETH_HLEN: shorter packets are refused by the test-run
constexpr size_t kMaxInput = 1500;   // one Ethernet MTU: enough for parsers, keeps runs short
constexpr size_t kDefaultSize = 64;  // the all-zero seed

/// Program types whose input is a packet (the test-run's `data`); the rest get `ctx` bytes,
/// except types that take neither, which get `data` as plain memory.
bool takes_packet(ProgramType t) {
    switch (t) {
        case ProgramType::Xdp: case ProgramType::SchedCls: case ProgramType::SchedAct:
        case ProgramType::SocketFilter: case ProgramType::CgroupSkb: case ProgramType::LwtIn:
        case ProgramType::LwtOut: case ProgramType::LwtXmit: case ProgramType::LwtSeg6local:
        case ProgramType::SkSkb: case ProgramType::FlowDissector:
            return true;
        default:
            return false;
    }
}

bool takes_ctx(ProgramType t) {
    switch (t) {
        case ProgramType::Kprobe: case ProgramType::Tracepoint: case ProgramType::PerfEvent:
        case ProgramType::RawTracepoint: case ProgramType::RawTracepointWritable: case ProgramType::Tracing:
        case ProgramType::Lsm: case ProgramType::Syscall:
            return true;
        default:
            return false;
    }
}

uint8_t bucket(uint64_t hits) {
    if (hits == 0) return 0;
    if (hits <= 3) return static_cast<uint8_t>(hits);
    if (hits <= 7) return 4;
    if (hits <= 15) return 5;
    if (hits <= 31) return 6;
    if (hits <= 127) return 7;
    return 8;
}

/// Constants worth writing into inputs: what the program compares registers with.
std::vector<std::vector<uint8_t>> dictionary_of(const Program& program) {
    std::set<std::vector<uint8_t>, BytesLess> words;
    auto add = [&](uint64_t v, int width) {
        std::vector<uint8_t> le(static_cast<size_t>(width)), be(static_cast<size_t>(width));
        for (int i = 0; i < width; ++i) {
            le[static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
            be[static_cast<size_t>(width - 1 - i)] = static_cast<uint8_t>(v >> (8 * i));
        }
        words.insert(le);
        words.insert(be);
    };
    for (const Insn& insn : program.insns) {
        const Form f = op_info(insn.op).form;
        if (f != Form::JmpImm && !(f == Form::Lddw && insn.src == 0)) continue;
        const auto v = static_cast<uint64_t>(insn.imm);
        if (v == 0) continue;  // zeros are everywhere already
        for (int width : {1, 2, 4, 8}) {
            if (width < 8 && (v >> (8 * width)) != 0 && (v >> (8 * width)) != (~uint64_t{0} >> (8 * width))) continue;
            add(v, width);
        }
    }
    return {words.begin(), words.end()};
}

class Fuzzer {
public:
    Fuzzer(Object& obj, const FuzzOptions& o, const ProgramSpec& spec)
        : obj_(obj), o_(o), rng_(o.seed), packet_(takes_packet(spec.type)), ctx_(takes_ctx(spec.type)),
          dict_(dictionary_of(spec.program)) {
        for (uint32_t i = 0; i < obj.file().maps.size(); ++i) {
            const MapSpec& m = obj.file().maps[i];
            // Maps whose entries a generated input can usefully preset: plain keys and values.
            if ((m.type == MapType::Array || m.type == MapType::Hash || m.type == MapType::LruHash) && m.key_size > 0 &&
                m.key_size <= 16 && m.value_size > 0 && m.value_size <= 64 && m.max_entries > 0)
                presettable_.push_back(i);
        }
    }

    Result<FuzzResult> run() {
        const auto start = std::chrono::steady_clock::now();
        std::vector<FuzzInput> seeds = o_.seeds;
        if (seeds.empty()) {
            FuzzInput zero;
            (ctx_ ? zero.ctx : zero.data).assign(kDefaultSize, 0);
            seeds.push_back(zero);
        }
        for (const auto& s : seeds) BPFVM_TRY(execute(s));
        if (corpus_.empty()) corpus_.push_back(seeds.front());  // keep mutating even if seeds found nothing new
        while (!done(start)) {
            FuzzInput input = corpus_[pick(corpus_.size())];
            const int rounds = 1 + static_cast<int>(pick(4));
            for (int i = 0; i < rounds; ++i) mutate(input);
            BPFVM_TRY(execute(input));
            if (o_.progress && result_.stats.execs % 1024 == 0) o_.progress(stats(start));
        }
        result_.stats = stats(start);
        return std::move(result_);
    }

private:
    bool done(std::chrono::steady_clock::time_point start) const {
        if (o_.max_execs != 0 && result_.stats.execs >= o_.max_execs) return true;
        if (!result_.findings.empty() && !o_.keep_going) return true;
        if (result_.findings.size() >= o_.max_findings) return true;
        if (o_.duration_s > 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= o_.duration_s)
            return true;
        return false;
    }

    FuzzStats stats(std::chrono::steady_clock::time_point start) {
        FuzzStats s = result_.stats;
        s.corpus = corpus_.size();
        s.findings = result_.findings.size();
        s.edges = 0;
        s.edges_total = 0;
        for (const auto& [name, seen] : seen_) {
            s.edges_total += seen.size();
            for (uint8_t b : seen) s.edges += b != 0 ? 1 : 0;
        }
        s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return s;
    }

    uint64_t pick(uint64_t n) { return n <= 1 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

    void mutate(FuzzInput& in) {
        std::vector<uint8_t>& buf = ctx_ ? in.ctx : in.data;
        const size_t min = packet_ ? kMinPacket : 1;
        if (buf.size() < min) buf.resize(min, 0);
        switch (pick(presettable_.empty() ? 8 : 9)) {
            case 0: buf[pick(buf.size())] ^= static_cast<uint8_t>(1u << pick(8)); break;
            case 1: buf[pick(buf.size())] = static_cast<uint8_t>(pick(256)); break;
            case 2: {
                static constexpr uint8_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff};
                buf[pick(buf.size())] = kInteresting[pick(std::size(kInteresting))];
                break;
            }
            case 3:
            case 4: {  // a constant of the program, written over the buffer (twice as likely)
                if (dict_.empty()) break;
                const auto& word = dict_[pick(dict_.size())];
                if (word.size() > buf.size()) break;
                std::copy(word.begin(), word.end(), buf.begin() + static_cast<long>(pick(buf.size() - word.size() + 1)));
                break;
            }
            case 5: {  // grow
                const size_t n = 1 + pick(16);
                if (buf.size() + n > kMaxInput) break;
                const size_t at = pick(buf.size() + 1);
                std::vector<uint8_t> bytes(n);
                for (auto& b : bytes) b = static_cast<uint8_t>(pick(2) ? 0 : pick(256));
                buf.insert(buf.begin() + static_cast<long>(at), bytes.begin(), bytes.end());
                break;
            }
            case 6: {  // shrink
                const size_t n = 1 + pick(16);
                if (buf.size() < min + n) break;
                const size_t at = pick(buf.size() - n + 1);
                buf.erase(buf.begin() + static_cast<long>(at), buf.begin() + static_cast<long>(at + n));
                break;
            }
            case 7: {  // splice: from a random offset on, the bytes of another corpus entry
                const FuzzInput& other = corpus_[pick(corpus_.size())];
                const std::vector<uint8_t> src = ctx_ ? other.ctx : other.data;  // a copy: `other` may be `in`
                if (src.empty()) break;
                const size_t at = pick(std::min(buf.size(), src.size()));
                buf.resize(std::max(at, std::min(src.size(), kMaxInput)));
                std::copy(src.begin() + static_cast<long>(at), src.begin() + static_cast<long>(buf.size()),
                          buf.begin() + static_cast<long>(at));
                break;
            }
            default: {  // a map entry
                const uint32_t map = presettable_[pick(presettable_.size())];
                const MapSpec& m = obj_.file().maps[map];
                FuzzInput::MapEntry e{map, std::vector<uint8_t>(m.key_size, 0), std::vector<uint8_t>(m.value_size, 0)};
                const uint64_t k = m.type == MapType::Array ? pick(std::min<uint64_t>(m.max_entries, 64)) : pick(256);
                for (size_t i = 0; i < e.key.size() && i < 8; ++i) e.key[i] = static_cast<uint8_t>(k >> (8 * i));
                for (auto& b : e.value) b = static_cast<uint8_t>(pick(3) == 0 ? pick(256) : 0);
                if (!dict_.empty() && pick(2) == 0) {
                    const auto& word = dict_[pick(dict_.size())];
                    if (word.size() <= e.value.size()) std::copy(word.begin(), word.end(), e.value.begin());
                }
                if (in.maps.size() < 8) in.maps.push_back(std::move(e));
                else in.maps[pick(in.maps.size())] = std::move(e);
                break;
            }
        }
    }

    /// Runs one input; records new coverage and findings. Errors only for broken objects.
    Status execute(const FuzzInput& in) {
        ++result_.stats.execs;
        BPFVM_TRY(obj_.reset_maps());
        for (const auto& e : in.maps) {
            auto m = obj_.map(obj_.file().maps[e.map].name);
            if (m) (void)m->update_bytes(e.key, e.value);
        }
        for (auto& [name, c] : counts_) {
            std::fill(c.entries.begin(), c.entries.end(), 0);
            std::fill(c.branches.begin(), c.branches.end(), 0);
            c.stops.clear();
        }
        TestRunInput ti;
        ti.data = in.data;
        ti.ctx = in.ctx;
        ti.insn_budget = o_.insn_budget;
        ti.coverage = &counts_;
        auto r = obj_.test_run(o_.program, ti);
        const bool fresh = record_coverage();
        if (!r) {
            const Error& e = r.error();
            if (e.code == ErrorCode::kRuntime) {
                const bool budget = e.message.find("instruction budget exhausted") != std::string::npos;
                add_finding(budget ? FindingKind::Budget : FindingKind::Fault, in, e.to_string(), e.where, e.pc);
            } else if (e.code == ErrorCode::kUnsupported) {
                if (std::find(result_.notes.begin(), result_.notes.end(), e.to_string()) == result_.notes.end())
                    result_.notes.push_back(e.to_string());
            } else if (e.code == ErrorCode::kInvalidArgument) {
                ++result_.stats.invalid;  // e.g. too short a packet: not a program input
                return {};
            } else {
                return e;  // the object itself is unusable: stop with its error
            }
        } else if (o_.fail_retval && (r->retval == *o_.fail_retval ||
                                      (*o_.fail_retval <= 0xffffffffu && (r->retval & 0xffffffffu) == *o_.fail_retval))) {
            std::string what = "retval " + std::to_string(r->retval);
            if (!o_.fail_retval_name.empty()) what += " (" + o_.fail_retval_name + ")";
            add_finding(FindingKind::Retval, in, what);
        }
        if (fresh) corpus_.push_back(in);
        return {};
    }

    bool record_coverage() {
        bool fresh = false;
        for (const auto& [name, c] : counts_) {
            auto& seen = seen_[name];
            const size_t n = c.entries.size() + c.branches.size();
            if (seen.size() < n) seen.resize(n, 0);
            auto note = [&](size_t at, uint64_t hits) {
                const uint8_t b = bucket(hits);
                if (b > seen[at]) {
                    seen[at] = b;
                    fresh = true;
                }
            };
            for (size_t i = 0; i < c.entries.size(); ++i) note(i, c.entries[i]);
            for (size_t i = 0; i < c.branches.size(); ++i) note(c.entries.size() + i, c.branches[i]);
        }
        return fresh;
    }

    void add_finding(FindingKind kind, const FuzzInput& in, const std::string& message, const std::string& where = "",
                     std::optional<uint32_t> pc = std::nullopt) {
        // One finding per kind and place: the same fault at the same instruction of the same
        // program is one bug, whatever address it touched.
        const auto key = std::make_tuple(kind, where, pc);
        if (std::find(found_.begin(), found_.end(), key) != found_.end()) return;
        found_.push_back(key);
        result_.findings.push_back({kind, in, message, result_.stats.execs});
    }

    Object& obj_;
    const FuzzOptions& o_;
    std::mt19937_64 rng_;
    bool packet_, ctx_;
    std::vector<std::vector<uint8_t>> dict_;
    std::vector<uint32_t> presettable_;
    std::vector<FuzzInput> corpus_;
    std::map<std::string, CoverageCounters> counts_;
    std::map<std::string, std::vector<uint8_t>> seen_;
    std::vector<std::tuple<FindingKind, std::string, std::optional<uint32_t>>> found_;
    FuzzResult result_;
};

}  // namespace

Result<FuzzResult> fuzz_program(Object& object, const FuzzOptions& options) {
    BPFVM_TRY(apply_load_settings(object, options.program, options.type, options.map_sizes));
    auto spec = object.program(options.program);
    if (!spec) return spec.error();
    if ((*spec)->error) return *(*spec)->error;
    if (options.insn_budget == 0 || options.insn_budget > kMaxInsnBudget)
        return make_error(ErrorCode::kInvalidArgument, "instruction budget " + std::to_string(options.insn_budget) +
                                                           " out of range [1, " + std::to_string(kMaxInsnBudget) + "]");
    Fuzzer fuzzer(object, options, **spec);
    return fuzzer.run();
}

Result<uint64_t> parse_retval(std::string_view text) {
    static const std::map<std::string_view, int64_t> kNames = {
        {"XDP_ABORTED", 0},   {"XDP_DROP", 1},         {"XDP_PASS", 2},      {"XDP_TX", 3},
        {"XDP_REDIRECT", 4},  {"TC_ACT_UNSPEC", -1},   {"TC_ACT_OK", 0},     {"TC_ACT_RECLASSIFY", 1},
        {"TC_ACT_SHOT", 2},   {"TC_ACT_PIPE", 3},      {"TC_ACT_STOLEN", 4}, {"TC_ACT_QUEUED", 5},
        {"TC_ACT_REPEAT", 6}, {"TC_ACT_REDIRECT", 7},  {"SK_DROP", 0},       {"SK_PASS", 1},
    };
    if (auto it = kNames.find(text); it != kNames.end()) return static_cast<uint64_t>(it->second);
    const bool negative = !text.empty() && text[0] == '-';
    auto v = parse_uint(negative ? text.substr(1) : text, 0, negative ? (uint64_t{1} << 63) : ~uint64_t{0});
    if (!v) {
        std::string names;
        for (const auto& [name, value] : kNames) names += (names.empty() ? "" : ", ") + std::string(name);
        return make_error(ErrorCode::kInvalidArgument,
                          "expected a number or one of " + names + ", got '" + std::string(text) + "'");
    }
    return negative ? 0 - *v : *v;
}

Result<std::vector<FuzzInput>> seeds_from_spec(const std::string& spec_path, const Object& object,
                                               const std::string& program) {
    auto text = read_input_file(spec_path);
    if (!text) return text.error();
    nlohmann::json spec;
    try {
        spec = nlohmann::json::parse(*text, nullptr, true, /*ignore_comments=*/true);
    } catch (const nlohmann::json::exception& e) {
        return make_error(ErrorCode::kMalformed, spec_path + ": invalid JSON: " + e.what());
    }
    if (!spec.is_object() || !spec.contains("cases") || !spec["cases"].is_array())
        return make_error(ErrorCode::kMalformed, spec_path + ": expected an object with a \"cases\" array");
    auto target = object.program(program);
    if (!target) return target.error();
    std::vector<FuzzInput> seeds;
    const auto& cases = spec["cases"];
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        if (!c.is_object()) continue;
        // A case for another program (named by function or section) is not a seed for this one.
        if (c.contains("program") && c["program"].is_string()) {
            auto p = object.program(c["program"].get<std::string>());
            if (!p || *p != *target) continue;
        }
        FuzzInput in;
        for (const char* field : {"data", "ctx"}) {
            if (!c.contains(field) || !c[field].is_string()) continue;
            auto bytes = parse_hex_bytes(c[field].get<std::string>());
            if (!bytes)
                return make_error(ErrorCode::kMalformed,
                                  spec_path + ": cases[" + std::to_string(i) + "]." + field + ": " + bytes.error().message);
            (std::string(field) == "data" ? in.data : in.ctx) = std::move(*bytes);
        }
        seeds.push_back(std::move(in));
    }
    return seeds;
}

std::string findings_spec(const FuzzResult& result, const Object& object, const std::string& object_path,
                          const FuzzOptions& options) {
    nlohmann::json spec;
    spec["description"] = "Inputs found by bpfvm fuzz (seed " + std::to_string(options.seed) + ", " +
                          std::to_string(result.stats.execs) +
                          " executions). Each case fails while the bug is there: replay with bpfvm test.";
    spec["object"] = object_path;
    if (!options.type.empty()) spec["program_types"] = {{options.program, options.type}};
    if (!options.map_sizes.empty()) {
        nlohmann::json sizes = nlohmann::json::object();
        for (const auto& s : options.map_sizes) {
            const auto eq = s.find('=');
            if (auto n = parse_uint(s.substr(eq + 1), 1, UINT32_MAX); n && eq != std::string::npos) sizes[s.substr(0, eq)] = *n;
        }
        spec["map_sizes"] = sizes;
    }
    spec["cases"] = nlohmann::json::array();
    for (size_t i = 0; i < result.findings.size(); ++i) {
        const FuzzFinding& f = result.findings[i];
        nlohmann::json c;
        c["name"] = "finding " + std::to_string(i + 1) + ": " + f.message.substr(0, f.message.find('\n'));
        c["program"] = options.program;
        if (!f.input.data.empty()) c["data"] = to_hex(f.input.data);
        if (!f.input.ctx.empty()) c["ctx"] = to_hex(f.input.ctx);
        c["max_insns"] = options.insn_budget;
        if (!f.input.maps.empty()) {
            nlohmann::json maps = nlohmann::json::object();
            for (const auto& e : f.input.maps)
                maps[object.file().maps[e.map].name].push_back({{"key", to_hex(e.key)}, {"value", to_hex(e.value)}});
            c["maps"] = maps;
        }
        // Retval findings expect anything but the failing value; a fault or an exhausted budget
        // fails the case by itself.
        if (f.kind == FindingKind::Retval && options.fail_retval)
            c["expect"] = {{"not_retval", static_cast<int64_t>(*options.fail_retval)}};
        spec["cases"].push_back(std::move(c));
    }
    return spec.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace bpfvm
