// The control-flow graph (cfg.hpp): blocks and edges, subprograms and calls, reachability, back
// edges, weak topological orders and the kernel's structural findings.
//
// Every traversal uses an explicit stack: a linked program may hold a million instructions, far
// beyond what recursion over the host stack survives.
#include <algorithm>
#include <limits>

#include "bpfvm/cfg.hpp"

namespace bpfvm {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

/// What the graph needs of an instruction, classified once (the passes below would otherwise look
/// each instruction up in the opcode table several times).
enum class Flow : uint8_t {
    Next,      // continues at the next instruction
    Branch,    // conditional jump or may_goto: the next instruction or the target
    Goto,      // ja, gotol: the target only
    Exit,      // returns
    Call,      // local call: the callee, then the next instruction
    FuncRef,   // lddw src=4: continues at the next instruction; the target becomes a subprogram
};

std::vector<Flow> classify(const Program& program) {
    std::vector<Flow> flow(program.insns.size(), Flow::Next);
    for (size_t i = 0; i < program.insns.size(); ++i) {
        const Insn& insn = program.insns[i];
        const Form form = op_info(insn.op).form;
        if (form == Form::Exit)
            flow[i] = Flow::Exit;
        else if (form == Form::Ja || form == Form::Gotol)
            flow[i] = Flow::Goto;
        else if (is_jump(insn.op))
            flow[i] = Flow::Branch;
        else if (form == Form::CallLocal)
            flow[i] = Flow::Call;
        else if (form == Form::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func))
            flow[i] = Flow::FuncRef;
    }
    return flow;
}

bool jumps(Flow f) { return f == Flow::Branch || f == Flow::Goto; }
/// Exit and the unconditional jumps never continue at the next instruction; the kernel accepts
/// exactly these as the last instruction of a subprogram.
bool ends_flow(Flow f) { return f == Flow::Exit || f == Flow::Goto; }

/// Subprogram entries, as the kernel's add_subprog collects them: 0, every local-call target and every
/// function-reference target; sorted, unique.
std::vector<uint32_t> find_entries(const Program& program, const std::vector<Flow>& flow) {
    std::vector<uint32_t> entries{0};
    for (size_t i = 0; i < flow.size(); ++i)
        if (flow[i] == Flow::Call || flow[i] == Flow::FuncRef) entries.push_back(program.insns[i].target);
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    return entries;
}

/// Cuts the instructions into blocks: a block starts at a subprogram entry, a jump target or after
/// a jump, exit or local call.
void build_blocks(const Program& program, const std::vector<Flow>& flow, const std::vector<uint32_t>& entries, Cfg& g) {
    const auto n = static_cast<uint32_t>(program.insns.size());
    std::vector<uint8_t> leader(n + 1, 0);
    leader[0] = 1;
    for (uint32_t e : entries) leader[e] = 1;
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (jumps(flow[i])) leader[program.insns[i].target] = 1;
        if (jumps(flow[i]) || flow[i] == Flow::Exit || flow[i] == Flow::Call) leader[i + 1] = 1;
    }
    for (uint32_t i = 0; i < n; ++i) count += leader[i];
    g.blocks.reserve(count);
    g.block_of.resize(n);
    uint32_t sub = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (leader[i]) {
            while (sub + 1 < entries.size() && entries[sub + 1] <= i) ++sub;
            g.blocks.push_back(BasicBlock{i, i, sub, false});
        }
        g.blocks.back().last = i;
        g.block_of[i] = static_cast<uint32_t>(g.blocks.size() - 1);
    }
}

/// Successor and predecessor rows. Fall-through (or after-call) edges come before jump edges, the
/// order in which the kernel's check_cfg explores them.
void build_edges(const Program& program, const std::vector<Flow>& flow, Cfg& g) {
    const auto n = static_cast<uint32_t>(program.insns.size());
    const auto nb = static_cast<uint32_t>(g.blocks.size());
    g.succ_begin.resize(nb + 1);
    g.succ_edges.reserve(2 * nb);
    for (uint32_t b = 0; b < nb; ++b) {
        const uint32_t last = g.blocks[b].last;
        g.succ_begin[b] = static_cast<uint32_t>(g.succ_edges.size());
        if (!ends_flow(flow[last]) && last + 1 < n)
            g.succ_edges.push_back(
                {g.block_of[last + 1], flow[last] == Flow::Call ? EdgeKind::AfterCall : EdgeKind::FallThrough});
        if (jumps(flow[last])) g.succ_edges.push_back({g.block_of[program.insns[last].target], EdgeKind::Jump});
    }
    g.succ_begin[nb] = static_cast<uint32_t>(g.succ_edges.size());

    // Predecessors by counting sort over the successor rows (keeps instruction order).
    std::vector<uint32_t> count(nb + 1, 0);
    for (const CfgEdge& e : g.succ_edges) ++count[e.block + 1];
    for (uint32_t b = 0; b < nb; ++b) count[b + 1] += count[b];
    g.pred_begin = count;
    g.pred_edges.resize(g.succ_edges.size());
    for (uint32_t b = 0; b < nb; ++b)
        for (const CfgEdge& e : g.succs(b)) g.pred_edges[count[e.block]++] = {b, e.kind};
}

/// Subprogram ranges, call sites and the call graph.
void build_subprograms(const Program& program, const std::vector<Flow>& flow, const std::vector<uint32_t>& entries,
                       Cfg& g) {
    const auto n = static_cast<uint32_t>(program.insns.size());
    g.subprogs.resize(entries.size());
    for (size_t s = 0; s < entries.size(); ++s) {
        Subprogram& sp = g.subprogs[s];
        sp.entry = entries[s];
        sp.end = s + 1 < entries.size() ? entries[s + 1] : n;
        sp.first_block = g.block_of[sp.entry];
        sp.end_block = sp.end < n ? g.block_of[sp.end] : static_cast<uint32_t>(g.blocks.size());
    }
    for (uint32_t i = 0; i < n; ++i) {
        if (flow[i] != Flow::Call && flow[i] != Flow::FuncRef) continue;
        const bool reference = flow[i] == Flow::FuncRef;
        const CallSite site{i, g.subprog_of(i), g.subprog_of(program.insns[i].target), reference};
        g.calls.push_back(site);
        Subprogram& callee = g.subprogs[site.callee];
        (reference ? callee.referenced : callee.called) = true;
        auto& list = reference ? g.subprogs[site.caller].references : g.subprogs[site.caller].callees;
        list.push_back(site.callee);
    }
    for (Subprogram& sp : g.subprogs) {
        for (auto* list : {&sp.callees, &sp.references}) {
            std::sort(list->begin(), list->end());
            list->erase(std::unique(list->begin(), list->end()), list->end());
        }
    }
}

/// Marks the blocks reachable from instruction 0 through edges, calls and function references.
void mark_reachable(Cfg& g) {
    std::vector<uint32_t> work{0};
    g.blocks[0].reachable = true;
    auto reach = [&](uint32_t b) {
        if (g.blocks[b].reachable) return;
        g.blocks[b].reachable = true;
        work.push_back(b);
    };
    while (!work.empty()) {
        const uint32_t b = work.back();
        work.pop_back();
        for (const CfgEdge& e : g.succs(b)) reach(e.block);
        // The call sites inside the block (g.calls is in instruction order) reach their callees.
        const BasicBlock& block = g.blocks[b];
        auto site = std::lower_bound(g.calls.begin(), g.calls.end(), block.first,
                                     [](const CallSite& c, uint32_t insn) { return c.insn < insn; });
        for (; site != g.calls.end() && site->insn <= block.last; ++site) reach(g.subprogs[site->callee].first_block);
    }
}

/// Back edges of a depth-first search from each subprogram's entry, successors in row order (the
/// kernel's order). Colours are fresh per subprogram; a search follows every edge, even one that
/// leaves the subprogram, so every cycle through reachable code contains a reported back edge.
void find_back_edges(Cfg& g) {
    enum : uint8_t { kWhite, kGrey, kBlack };
    std::vector<uint8_t> colour(g.blocks.size(), kWhite);
    std::vector<uint32_t> touched;
    struct Frame {
        uint32_t block;
        uint32_t next;  // index of the next successor to explore
    };
    std::vector<Frame> stack;
    for (const Subprogram& sp : g.subprogs) {
        for (uint32_t b : touched) colour[b] = kWhite;
        touched.clear();
        colour[sp.first_block] = kGrey;
        touched.push_back(sp.first_block);
        stack.push_back({sp.first_block, 0});
        while (!stack.empty()) {
            Frame& f = stack.back();
            const auto succs = g.succs(f.block);
            if (f.next == succs.size()) {
                colour[f.block] = kBlack;
                stack.pop_back();
                continue;
            }
            const CfgEdge e = succs[f.next++];
            if (colour[e.block] == kGrey) {
                g.back_edges.push_back({g.blocks[f.block].last, g.blocks[e.block].first, e.kind});
            } else if (colour[e.block] == kWhite) {
                colour[e.block] = kGrey;
                touched.push_back(e.block);
                stack.push_back({e.block, 0});
            }
        }
    }
    std::sort(g.back_edges.begin(), g.back_edges.end(), [](const BackEdge& a, const BackEdge& b) {
        return a.from != b.from ? a.from < b.from : a.to != b.to ? a.to < b.to : a.kind < b.kind;
    });
    g.back_edges.erase(std::unique(g.back_edges.begin(), g.back_edges.end(),
                                   [](const BackEdge& a, const BackEdge& b) {
                                       return a.from == b.from && a.to == b.to && a.kind == b.kind;
                                   }),
                       g.back_edges.end());
}

/// Bourdoncle's recursive strategy ("Efficient chaotic iteration strategies with widenings", 1993)
/// with an explicit stack. visit(v) numbers v, explores its successors and, when v heads a strongly
/// connected part, unwinds it and builds the component (v, order of the rest). The algorithm
/// prepends to the order being built; here entries are appended and the whole order reversed at
/// the end, which keeps nested components contiguous. Successors are explored last first, so that
/// the order follows the instructions where it may (the fall-through before the jump target).
/// Cost: edges times loop nesting depth, as the recursive original.
class WtoBuilder {
public:
    explicit WtoBuilder(const Cfg& g) : g_(g), dfn_(g.blocks.size(), 0) {}

    std::vector<WtoEntry> build(uint32_t entry) {
        rev_.clear();
        num_ = 0;
        push_visit(entry);
        uint32_t ret = 0;
        bool has_ret = false;
        while (!frames_.empty()) {
            Frame& f = frames_.back();
            const auto succs = g_.succs(f.v);
            if (f.component) {
                has_ret = false;  // component() ignores what its visits return
                if (f.next < succs.size()) {
                    const uint32_t w = succs[succs.size() - 1 - f.next++].block;
                    if (dfn_[w] == 0) push_visit(w);
                    continue;
                }
                rev_.push_back({f.v, f.start, true});
            } else {
                if (has_ret) {
                    lower_head(f, ret);
                    has_ret = false;
                }
                if (f.next < succs.size()) {
                    const uint32_t w = succs[succs.size() - 1 - f.next++].block;
                    if (dfn_[w] == 0)
                        push_visit(w);
                    else
                        lower_head(f, dfn_[w]);
                    continue;
                }
                if (f.head == dfn_[f.v]) {
                    dfn_[f.v] = kNone;
                    uint32_t e = pop_vertex();
                    if (f.loop) {
                        while (e != f.v) {
                            dfn_[e] = 0;
                            e = pop_vertex();
                        }
                        f.component = true;
                        f.next = 0;
                        f.start = static_cast<uint32_t>(rev_.size());
                        continue;
                    }
                    rev_.push_back({f.v, 0, false});
                }
            }
            ret = f.head;
            has_ret = true;
            frames_.pop_back();
        }
        // Reverse; a head recorded at reversed index h with members [start, h) spans [N-1-h, N-start).
        const auto total = static_cast<uint32_t>(rev_.size());
        std::vector<WtoEntry> out(total);
        for (uint32_t i = 0; i < total; ++i) {
            const Emitted& e = rev_[i];
            const uint32_t at = total - 1 - i;
            out[at] = WtoEntry{e.block, e.head ? total - e.start : at + 1, e.head};
            dfn_[e.block] = 0;  // every vertex visited was placed: this resets them all for the next build
        }
        return out;
    }

private:
    struct Frame {
        uint32_t v;
        uint32_t next = 0;
        uint32_t head = 0;
        bool loop = false;
        bool component = false;  // building component(v) after visit(v) found v to be a head
        uint32_t start = 0;      // component: rev_ size when it started
    };
    struct Emitted {
        uint32_t block;
        uint32_t start;
        bool head;
    };

    void push_visit(uint32_t v) {
        vertices_.push_back(v);
        dfn_[v] = ++num_;
        Frame f{v};
        f.head = num_;
        frames_.push_back(f);
    }
    uint32_t pop_vertex() {
        const uint32_t v = vertices_.back();
        vertices_.pop_back();
        return v;
    }
    static void lower_head(Frame& f, uint32_t min) {
        if (min <= f.head) {
            f.head = min;
            f.loop = true;
        }
    }

    const Cfg& g_;
    std::vector<uint32_t> dfn_;  // 0: unvisited, kNone: placed in the order
    std::vector<uint32_t> vertices_;
    std::vector<Frame> frames_;
    std::vector<Emitted> rev_;
    uint32_t num_ = 0;
};

void find_structure(const Program& program, const std::vector<Flow>& flow, Cfg& g) {
    const auto n = static_cast<uint32_t>(program.insns.size());
    for (const Subprogram& sp : g.subprogs) {
        for (uint32_t i = sp.entry; i < sp.end; ++i) {
            const uint32_t target = program.insns[i].target;
            if (jumps(flow[i]) && (target < sp.entry || target >= sp.end))
                g.findings.push_back({FindingKind::JumpOutOfSubprogram, i, target});
        }
        const uint32_t last = sp.end - 1;
        if (!ends_flow(flow[last]))
            g.findings.push_back({sp.end == n ? FindingKind::FallsOffEnd : FindingKind::FallsIntoNext, last, 0});
    }
    for (uint32_t b = 0; b < g.blocks.size(); ++b) {
        if (g.blocks[b].reachable) continue;
        const bool extends = !g.findings.empty() && g.findings.back().kind == FindingKind::Unreachable &&
                             g.findings.back().target == g.blocks[b].first;
        if (extends)
            g.findings.back().target = g.blocks[b].last + 1;
        else
            g.findings.push_back({FindingKind::Unreachable, g.blocks[b].first, g.blocks[b].last + 1});
    }
    std::stable_sort(g.findings.begin(), g.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.insn < b.insn; });
}

}  // namespace

Cfg build_cfg(const Program& program, const CfgOptions& options) {
    Cfg g;
    if (program.insns.empty()) {
        g.succ_begin.assign(1, 0);
        g.pred_begin.assign(1, 0);
        return g;
    }
    const std::vector<Flow> flow = classify(program);
    const std::vector<uint32_t> entries = find_entries(program, flow);
    build_blocks(program, flow, entries, g);
    build_edges(program, flow, g);
    build_subprograms(program, flow, entries, g);
    mark_reachable(g);
    if (options.back_edges) find_back_edges(g);
    if (options.wto) {
        WtoBuilder wto(g);
        for (Subprogram& sp : g.subprogs) sp.wto = wto.build(sp.first_block);
    }
    find_structure(program, flow, g);
    return g;
}

std::string describe_finding(const Program& program, const Finding& finding) {
    const auto pc = [&](uint32_t index) {
        return index < program.insns.size() ? program.insns[index].pc : program.num_slots;
    };
    switch (finding.kind) {
        case FindingKind::JumpOutOfSubprogram:
            return "jump out of range from insn " + std::to_string(pc(finding.insn)) + " to " +
                   std::to_string(pc(finding.target));
        case FindingKind::FallsIntoNext:
            return "last insn is not an exit or jmp: insn " + std::to_string(pc(finding.insn)) +
                   " falls through into the next subprogram";
        case FindingKind::FallsOffEnd:
            return "last insn is not an exit or jmp: insn " + std::to_string(pc(finding.insn)) +
                   " falls off the end of the program";
        case FindingKind::Unreachable:
            return "unreachable insn " + std::to_string(pc(finding.insn));
    }
    return "unknown finding";
}

size_t insn_successors(const Program& program, uint32_t i, uint32_t out[2]) {
    const Insn& insn = program.insns[i];
    switch (op_info(insn.op).form) {
        case Form::Exit:
            return 0;
        case Form::Ja:
        case Form::Gotol:
            out[0] = insn.target;
            return 1;
        case Form::JmpImm:
        case Form::JmpReg:
        case Form::MayGoto:
            out[0] = i + 1;
            out[1] = insn.target;
            return 2;
        default:
            out[0] = i + 1;
            return 1;
    }
}

}  // namespace bpfvm
