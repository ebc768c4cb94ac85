// Spec parsing for the kernel oracle (nlohmann::json). The authoritative runner is the `bpfvm test`
// implementation; this reader only extracts inputs and expectations, so that the kernel can be
// checked against the same expectations.
#include "spec.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace bpfvm::oracle {
namespace {

using nlohmann::json;

Error spec_error(const std::string& path, const std::string& where, const std::string& what) {
    return make_error(ErrorCode::kMalformed, path + ": " + where + ": " + what);
}

Result<std::vector<uint8_t>> parse_hex(const std::string& text) {
    std::vector<uint8_t> out;
    int high = -1;
    for (char c : text) {
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else if (c == ' ' || c == '\t' || c == '\n' || c == ':' || c == '-') continue;
        else return make_error(ErrorCode::kMalformed, std::string("bad hex character '") + c + "'");
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) return make_error(ErrorCode::kMalformed, "odd number of hex digits");
    return out;
}

Result<SpecBytes> parse_bytes(const json& j, const std::string& path, const std::string& where) {
    if (j.is_number_unsigned()) return SpecBytes{j.get<uint64_t>()};
    if (j.is_number_integer()) return SpecBytes{static_cast<uint64_t>(j.get<int64_t>())};
    if (j.is_string()) {
        auto bytes = parse_hex(j.get<std::string>());
        if (!bytes) return spec_error(path, where, bytes.error().message);
        return SpecBytes{std::move(*bytes)};
    }
    return spec_error(path, where, "expected a hex string or an integer");
}

Result<std::map<std::string, std::vector<SpecEntry>>> parse_maps(const json& j, const std::string& path,
                                                                 const std::string& where) {
    std::map<std::string, std::vector<SpecEntry>> out;
    if (!j.is_object()) return spec_error(path, where, "expected an object of map names");
    for (const auto& [name, entries] : j.items()) {
        const std::string w = where + "." + name;
        if (!entries.is_array()) return spec_error(path, w, "expected an array of entries");
        auto& list = out[name];
        for (size_t i = 0; i < entries.size(); ++i) {
            const std::string we = w + "[" + std::to_string(i) + "]";
            if (!entries[i].contains("key") || !entries[i].contains("value"))
                return spec_error(path, we, "expected \"key\" and \"value\"");
            auto key = parse_bytes(entries[i]["key"], path, we + ".key");
            if (!key) return key.error();
            auto value = parse_bytes(entries[i]["value"], path, we + ".value");
            if (!value) return value.error();
            list.push_back({std::move(*key), std::move(*value)});
        }
    }
    return out;
}

}  // namespace

Result<Spec> load_spec(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error(ErrorCode::kIo, path + ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return make_error(ErrorCode::kMalformed, path + ": not valid JSON");

    Spec spec;
    spec.path = path;
    if (!root.contains("object") || !root["object"].is_string()) return spec_error(path, "object", "expected a string");
    const auto slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash);
    spec.object = folder + "/" + root["object"].get<std::string>();
    if (!root.contains("cases") || !root["cases"].is_array()) return spec_error(path, "cases", "expected an array");

    for (size_t i = 0; i < root["cases"].size(); ++i) {
        const json& c = root["cases"][i];
        const std::string where = "cases[" + std::to_string(i) + "]";
        SpecCase sc;
        sc.name = c.value("name", where);
        if (!c.contains("program") || !c["program"].is_string())
            return spec_error(path, where + ".program", "expected a string");
        sc.program = c["program"].get<std::string>();
        for (const char* field : {"data", "ctx"}) {
            if (!c.contains(field)) continue;
            if (!c[field].is_string()) return spec_error(path, where + "." + field, "expected a hex string");
            auto bytes = parse_hex(c[field].get<std::string>());
            if (!bytes) return spec_error(path, where + "." + field, bytes.error().message);
            (std::string(field) == "data" ? sc.data : sc.ctx) = std::move(*bytes);
        }
        if (c.contains("repeat")) sc.repeat = c["repeat"].get<uint32_t>();
        if (c.contains("maps")) {
            auto maps = parse_maps(c["maps"], path, where + ".maps");
            if (!maps) return maps.error();
            sc.maps = std::move(*maps);
        }
        if (c.contains("expect")) {
            const json& e = c["expect"];
            if (e.contains("retval")) sc.expect_retval = e["retval"].get<uint64_t>();
            if (e.contains("data")) {
                auto bytes = parse_hex(e["data"].get<std::string>());
                if (!bytes) return spec_error(path, where + ".expect.data", bytes.error().message);
                sc.expect_data = std::move(*bytes);
            }
            if (e.contains("maps")) {
                auto maps = parse_maps(e["maps"], path, where + ".expect.maps");
                if (!maps) return maps.error();
                sc.expect_maps = std::move(*maps);
            }
        }
        spec.cases.push_back(std::move(sc));
    }
    return spec;
}

Result<std::vector<uint8_t>> spec_bytes(const SpecBytes& b, uint32_t size) {
    if (const auto* bytes = std::get_if<std::vector<uint8_t>>(&b)) {
        if (bytes->size() != size)
            return make_error(ErrorCode::kInvalidArgument, "hex has " + std::to_string(bytes->size()) +
                                                               " bytes, the map wants " + std::to_string(size));
        return *bytes;
    }
    const uint64_t v = std::get<uint64_t>(b);
    if (size < 8 && (v >> (8 * size)) != 0)
        return make_error(ErrorCode::kInvalidArgument,
                          std::to_string(v) + " does not fit in " + std::to_string(size) + " bytes");
    std::vector<uint8_t> out(size, 0);
    for (uint32_t i = 0; i < size && i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
    return out;
}

std::string hex(const std::vector<uint8_t>& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace bpfvm::oracle
