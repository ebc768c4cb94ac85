// Reading the verifier table: CASE records out of the objects' .bpfvm.cases section.
#include "table.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace bpfvm::table {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out(1);
    for (char c : s) {
        if (c == sep) out.emplace_back();
        else out.back() += c;
    }
    return out;
}

Result<Expectation> parse_expectation(const std::string& text) {
    Expectation e;
    if (text == "none") return e;
    e.checked = true;
    if (text == "accept") {
        e.accept = true;
        return e;
    }
    if (text.starts_with("reject:") && text.size() > 7) {
        e.fragment = text.substr(7);
        return e;
    }
    return make_error(ErrorCode::kMalformed,
                      "expectation '" + text + "' is none of accept, reject:FRAGMENT (non-empty), none");
}

}  // namespace

void PrintTo(const Case& c, std::ostream* os) { *os << c.key(); }

Result<Case> parse_case(const std::string& record) {
    const auto fields = split(record, '|');
    if (fields.size() != 4 || fields[0].empty())
        return make_error(ErrorCode::kMalformed, "case record '" + record + "': expected name|flags|priv|unpriv");
    Case c;
    c.name = fields[0];
    c.flags = fields[1];
    for (const std::string& f : split(c.flags, ',')) {
        if (!f.empty() && f != "strict_alignment" && f != "any_alignment")
            return make_error(ErrorCode::kMalformed, "case " + c.name + ": unknown flag '" + f + "'");
    }
    auto priv = parse_expectation(fields[2]);
    if (!priv) return make_error(ErrorCode::kMalformed, "case " + c.name + ": privileged: " + priv.error().message);
    auto unpriv = parse_expectation(fields[3]);
    if (!unpriv)
        return make_error(ErrorCode::kMalformed, "case " + c.name + ": unprivileged: " + unpriv.error().message);
    c.priv = *priv;
    c.unpriv = *unpriv;
    return c;
}

Result<std::vector<std::string>> read_case_records(const std::string& path) {
    if (elf_version(EV_CURRENT) == EV_NONE) return make_error(ErrorCode::kIo, "libelf: " + std::string(elf_errmsg(-1)));
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return make_error(ErrorCode::kIo, path + ": cannot open");
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    std::vector<std::string> records;
    std::string error;
    size_t shstrndx = 0;
    if (elf == nullptr || elf_getshdrstrndx(elf, &shstrndx) != 0) {
        error = path + ": not an ELF object";
    } else {
        for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
            GElf_Shdr shdr;
            if (gelf_getshdr(scn, &shdr) == nullptr) continue;
            const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
            if (name == nullptr || std::string_view(name) != ".bpfvm.cases") continue;
            Elf_Data* data = elf_getdata(scn, nullptr);
            if (data == nullptr || data->d_buf == nullptr) break;
            const char* p = static_cast<const char*>(data->d_buf);
            const char* end = p + data->d_size;
            while (p < end) {
                const char* nul = std::find(p, end, '\0');
                if (nul != p) records.emplace_back(p, nul);
                p = nul + 1;
            }
        }
    }
    if (elf != nullptr) elf_end(elf);
    close(fd);
    if (!error.empty()) return make_error(ErrorCode::kMalformed, error);
    return records;
}

Result<std::vector<Case>> load_cases(const std::string& dir) {
    std::vector<std::string> objects;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".o") objects.push_back(entry.path().string());
    }
    if (ec || objects.empty()) return make_error(ErrorCode::kNotFound, dir + ": no compiled table objects");
    std::sort(objects.begin(), objects.end());
    std::vector<Case> cases;
    for (const std::string& object : objects) {
        auto records = read_case_records(object);
        if (!records) return records.error();
        const std::string file = std::filesystem::path(object).stem().string() + ".c";
        for (const std::string& record : *records) {
            auto c = parse_case(record);
            if (!c) return make_error(ErrorCode::kMalformed, file + ": " + c.error().message);
            c->file = file;
            c->object = object;
            cases.push_back(std::move(*c));
        }
    }
    return cases;
}

VerifyOptions options_for(const Case& c, bool privileged) {
    VerifyOptions o;
    o.privileged = privileged;
    for (const std::string& f : split(c.flags, ',')) {
        if (f == "strict_alignment") o.strict_alignment = true;
        if (f == "any_alignment") o.any_alignment = true;
    }
    return o;
}

bool has_neg(const Program& program) {
    return std::any_of(program.insns.begin(), program.insns.end(),
                       [](const Insn& i) { return i.op == Op::Neg32 || i.op == Op::Neg64; });
}

}  // namespace bpfvm::table
