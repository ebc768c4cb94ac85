// Error reporting shared by every module: Error, Result<T>, Status and BPFVM_ASSERT.
// Member names follow std::expected so that switching later is one alias.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bpfvm {

/// Broad category of an error; the message carries the detail.
enum class ErrorCode {
    kInvalidArgument,  // a caller passed something unusable (bad flag, bad hex)
    kMalformed,        // bytecode, assembly or ELF that violates its format
    kUnsupported,      // valid input that bpfvm does not implement
    kNotFound,         // a named program, map, file or key does not exist
    kIo,               // the operating system refused a read or write
    kRejected,         // the verifier (or kernel) refused the program
    kRuntime,          // a run stopped with a trap
    kExists,           // an element already exists (BPF_NOEXIST)
    kNoSpace,          // a map is full
    kPermission,       // the kernel refused for lack of privilege
};

/// An error: a code, a message, and where it happened when known.
/// Formatted as `file: program: insn 12: message` then `at prog.c:42: source` when known.
struct Error {
    ErrorCode code = ErrorCode::kInvalidArgument;
    std::string message;
    std::optional<uint32_t> pc;  // instruction index (slot) the error refers to
    std::string where;           // "file" or "file: program", prepended to the message
    std::string source;          // "prog.c:42: x = a / b;" when line info is known

    std::string to_string() const {
        std::string out;
        if (!where.empty()) out += where + ": ";
        if (pc) out += "insn " + std::to_string(*pc) + ": ";
        out += message;
        if (!source.empty()) out += "\n  at " + source;
        return out;
    }
};

/// Builds an Error; `pc` is optional.
inline Error make_error(ErrorCode code, std::string message, std::optional<uint32_t> pc = std::nullopt) {
    return Error{code, std::move(message), pc, {}, {}};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const Error& error() const { return std::get<1>(v_); }
    Error& error() { return std::get<1>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    template <class U>
    T value_or(U&& fallback) const {
        return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)) {}  // NOLINT
    bool has_value() const { return !error_; }
    explicit operator bool() const { return has_value(); }
    const Error& error() const { return *error_; }
    Error& error() { return *error_; }

private:
    std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace bpfvm

/// Aborts with file and line when an internal invariant is broken (a bug, never bad input).
#define BPFVM_ASSERT(cond)                                                                  \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf(stderr, "%s:%d: internal error: assertion failed: %s\n", __FILE__, \
                         __LINE__, #cond);                                                  \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)

/// Propagates an error from an expression returning Result/Status.
#define BPFVM_TRY(expr)                                  \
    do {                                                 \
        auto bpfvm_try_result_ = (expr);                 \
        if (!bpfvm_try_result_) return bpfvm_try_result_.error(); \
    } while (0)
