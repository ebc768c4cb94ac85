// Reading the kernel selftests manifest.
#include "selftests.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

namespace bpfvm::corpus {

std::string selftests_root() { return std::string(BPFVM_SHARED_DIR) + "/corpus/kernel-selftests"; }

bool SelftestRow::has_flag(std::string_view flag) const {
    const std::regex re("(^|[;, ])" + std::string(flag) + "($|[;, ])");
    return std::regex_search(flags, re);
}

std::string SelftestRow::btf_path() const {
    std::smatch m;
    static const std::regex kBtf("btf_path=([^,; ]+)");
    return std::regex_search(flags, m, kBtf) ? m[1].str() : "";
}

std::vector<SelftestRow> read_selftest_rows() {
    std::vector<SelftestRow> rows;
    std::ifstream in(selftests_root() + "/manifest.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        auto text = [&](const char* key) {
            auto it = j.find(key);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        rows.push_back({text("file"), text("program"), text("object"), text("flags"), text("kernel_priv"),
                        text("expect_unpriv"), text("msg"), text("msg_unpriv"), text("kernel_log_tail")});
    }
    return rows;
}

VerifyOptions selftest_options(const SelftestRow& row, Mode mode) {
    VerifyOptions o;
    o.privileged = mode == Mode::Privileged;
    o.reg_invariants = true;
    o.strict_alignment = row.has_flag("BPF_F_STRICT_ALIGNMENT");
    o.any_alignment = row.has_flag("BPF_F_ANY_ALIGNMENT");
    o.test_state_freq = row.has_flag("BPF_F_TEST_STATE_FREQ");
    return o;
}

const ObjectFile* SelftestObjects::get(const SelftestRow& row, std::string& error) {
    const std::string btf = row.btf_path();
    const std::string id = row.object + "|" + btf;
    auto it = cache_.find(id);
    if (it == cache_.end()) {
        LoadOptions lo = object_load_defaults();
        if (!btf.empty()) lo.target_btf_path = selftests_root() + "/objects/" + btf;
        it = cache_.emplace(id, load_object(selftests_root() + "/" + row.object, lo)).first;
    }
    if (!it->second) {
        error = it->second.error().to_string();
        return nullptr;
    }
    return &*it->second;
}

}  // namespace bpfvm::corpus
