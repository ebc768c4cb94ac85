// Register reads and writes (the kernel's check_reg_arg), and small register transitions.
#include "checks.hpp"

namespace bpfvm::verifier {

bool check_reg_read(Env& env, int regno) {
    if (regno < 0 || regno >= kNumRegs) return env.fail("R%d is invalid", regno);
    if (env.cur->st.reg(regno).type == RegType::NotInit) return env.fail("R%d !read_ok", regno);
    return true;
}

bool check_reg_write(Env& env, int regno) {
    if (regno < 0 || regno >= kNumRegs) return env.fail("R%d is invalid", regno);
    if (regno == kFrameReg) return env.fail("frame pointer is read only");
    return true;
}

void mark_unknown(Reg& reg) { reg = Reg::unknown_scalar(); }

void mark_not_init(Reg& reg) { reg = Reg{}; }

bool is_pointer_value(const Env& env, const Reg& reg) {
    return !env.opt.privileged && reg.is_pointer();
}

void mark_scalar_from_pointer(Reg& reg) { reg = Reg::unknown_scalar(); }

void assign_scalar_id(Env& env, Reg& reg) {
    constexpr uint32_t kAddConst = 1u << 31;
    if (reg.type != RegType::Scalar) return;
    if (reg.id & kAddConst) {
        // `rX = rY` where rY is already `rZ + off`: the kernel keeps one level of links only.
        reg.id = 0;
        reg.off = 0;
    }
    if (!reg.id && !reg.val.is_const()) reg.id = env.new_id();
}

}  // namespace bpfvm::verifier
