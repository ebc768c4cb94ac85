// Executable memory for generated code (the JIT driver's; backends never see it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "bpfvm/result.hpp"

namespace bpfvm::jit {

struct ArenaChunk;

/// A placed block of code: `exec` is where it runs. Released with CodeArena::release.
struct CodeBlock {
    uint8_t* exec = nullptr;
    size_t size = 0;              // bytes reserved (the code rounded up to kCodeAlign)
    ArenaChunk* chunk = nullptr;  // null: a private mapping of its own (fallback path)
    size_t offset = 0;            // within the chunk
};

/// Code memory shared by every compiled program. Chunks are a memfd mapped twice: a read-write view
/// the driver copies code into and a read-execute view the code runs from, so that placing code
/// costs neither mmap nor mprotect once a chunk exists, and no mapping is ever writable and
/// executable at once. Blocks are carved first-fit from the chunks and returned when their
/// executable dies. Where memfd_create is unavailable every block gets a private mapping written
/// read-write and then switched to read-execute (two syscalls per compile, the old way).
/// Thread-safe.
class CodeArena {
public:
    /// The process-wide arena (never destroyed: executables in static objects release at exit).
    static CodeArena& instance();

    /// Copies `size` bytes of position-independent code into the arena and makes them visible to
    /// instruction fetch. kIo when memory cannot be mapped.
    Result<CodeBlock> place(const uint8_t* code, size_t size);
    /// Returns a block; its memory may be handed out again.
    void release(const CodeBlock& block);

    /// Blocks start on this alignment (a cache line).
    static constexpr size_t kCodeAlign = 64;

private:
    CodeArena() = default;
};

}  // namespace bpfvm::jit
