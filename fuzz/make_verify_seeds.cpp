// make_verify_seeds OUTDIR OBJECT...: writes seed inputs for fuzz_verify and fuzz_soundness
// (verify_input.hpp format): every program of every object, privileged and unprivileged, and for
// every program type of the table the smallest valid program (r0 = 0; exit), so the stored corpus
// starts from programs the verifier accepts under each type. Run by hand when the corpus is
// refreshed (fuzz/README.md); not part of the build's tests.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "verify_input.hpp"

namespace {

using namespace bpfvm;

bool write(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: make_verify_seeds OUTDIR [OBJECT...]\n");
        return 2;
    }
    const std::filesystem::path dir(argv[1]);
    size_t written = 0;
    // r0 = 0; exit, under every program type.
    const uint8_t minimal[] = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
    for (uint32_t t = 1; t < kNumProgramTypes; ++t) {
        std::vector<uint8_t> in = {static_cast<uint8_t>(t), 0, 0, 0};
        in.insert(in.end(), std::begin(minimal), std::end(minimal));
        written += write(dir / ("min-" + program_type_name(static_cast<ProgramType>(t))), in);
    }
    for (int i = 2; i < argc; ++i) {
        auto file = load_object(argv[i]);
        if (!file) {
            std::fprintf(stderr, "%s\n", file.error().to_string().c_str());
            continue;
        }
        const std::string stem = std::filesystem::path(argv[i]).stem().stem().string();
        for (const ProgramSpec& spec : file->programs) {
            for (bool privileged : {true, false}) {
                VerifyOptions options;
                options.privileged = privileged;
                auto in = fuzzing::encode_verify_input(*file, spec, options);
                if (!in || spec.type == ProgramType::Unspec) continue;
                written += write(dir / (stem + "-" + spec.name + (privileged ? "" : "-unpriv")), *in);
            }
        }
    }
    std::printf("wrote %zu seeds to %s\n", written, dir.c_str());
    return 0;
}
