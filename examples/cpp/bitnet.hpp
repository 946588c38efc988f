// A small header-only C++17 wrapper over libbitnet's C API: RAII handles,
// exceptions carrying bn_last_error(), std::string_view pieces.
#pragma once

#include <bitnet/bitnet.h>

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bitnet {

class Error : public std::runtime_error {
public:
    Error(bn_status status, const std::string &what)
        : std::runtime_error(what + ": " + bn_status_string(status) + ": " + bn_last_error()), status_(status) {}
    bn_status status() const noexcept { return status_; }

private:
    bn_status status_;
};

inline void check(bn_status status, const char *what)
{
    if (status != BN_OK)
        throw Error(status, what);
}

class Model {
public:
    explicit Model(const std::string &path, const bn_model_params *params = nullptr)
    {
        bn_model *m = nullptr;
        check(bn_model_open(path.c_str(), params, &m), path.c_str());
        model_.reset(m);
    }
    bn_model *get() const noexcept { return model_.get(); }
    std::string arch() const { return bn_model_arch(model_.get()); }
    int32_t n_vocab() const noexcept { return bn_model_n_vocab(model_.get()); }
    int32_t n_layer() const noexcept { return bn_model_n_layer(model_.get()); }

    std::vector<bn_token> tokenize(std::string_view text,
                                   uint32_t flags = BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL) const
    {
        size_t n = 0;
        bn_status st = bn_tokenize(model_.get(), text.data(), text.size(), flags, nullptr, 0, &n);
        if (st != BN_OK && st != BN_E_BUFFER_TOO_SMALL)
            throw Error(st, "bn_tokenize");
        std::vector<bn_token> tokens(n);
        check(bn_tokenize(model_.get(), text.data(), text.size(), flags, tokens.data(), tokens.size(), &n),
              "bn_tokenize");
        tokens.resize(n);
        return tokens;
    }

private:
    struct Free {
        void operator()(bn_model *m) const noexcept { bn_model_free(m); }
    };
    std::unique_ptr<bn_model, Free> model_;
};

struct GenParams : bn_gen_params {
    GenParams() : bn_gen_params() { bn_gen_params_init(this); }
};

// A context borrows its model: the Model must outlive it.
class Context {
public:
    explicit Context(Model &model, uint32_t n_ctx = 0, int n_threads = 0)
    {
        bn_ctx_params p;
        bn_ctx_params_init(&p);
        p.n_ctx = n_ctx;
        p.n_threads = n_threads;
        bn_ctx *c = nullptr;
        check(bn_ctx_new(model.get(), &p, &c), "bn_ctx_new");
        ctx_.reset(c);
    }
    uint32_t n_past() const noexcept { return bn_ctx_n_past(ctx_.get()); }
    void reset() noexcept { bn_ctx_reset(ctx_.get()); }
    void truncate(uint32_t n_keep) { check(bn_ctx_truncate(ctx_.get(), n_keep), "bn_ctx_truncate"); }
    void discard(uint32_t first, uint32_t n) { check(bn_ctx_discard(ctx_.get(), first, n), "bn_ctx_discard"); }
    std::vector<uint8_t> save_state() const
    {
        std::vector<uint8_t> state(bn_ctx_state_size(ctx_.get()));
        size_t n = 0;
        check(bn_ctx_state_save(ctx_.get(), state.data(), state.size(), &n), "bn_ctx_state_save");
        state.resize(n);
        return state;
    }
    void load_state(const std::vector<uint8_t> &state)
    {
        check(bn_ctx_state_load(ctx_.get(), state.data(), state.size()), "bn_ctx_state_load");
    }

    // Streams pieces to on_piece until it returns false; returns the whole text.
    // An exception thrown by on_piece stops generation and propagates.
    std::string generate(std::string_view prompt, const GenParams &params,
                         const std::function<bool(std::string_view)> &on_piece = {})
    {
        State state{&on_piece, {}, nullptr};
        std::string p(prompt);
        bn_status st = bn_generate(ctx_.get(), p.c_str(), &params, &State::callback, &state);
        if (state.error)
            std::rethrow_exception(state.error);
        check(st, "bn_generate");
        return state.text;
    }

private:
    struct State {
        const std::function<bool(std::string_view)> *on_piece;
        std::string text;
        std::exception_ptr error;

        static int callback(void *user, bn_token, const char *piece, size_t len)
        {
            auto *s = static_cast<State *>(user);
            try {
                s->text.append(piece, len);
                if (*s->on_piece && !(*s->on_piece)(std::string_view(piece, len)))
                    return 1;
                return 0;
            } catch (...) {
                s->error = std::current_exception();  // exceptions must not cross the C library
                return 1;
            }
        }
    };
    struct Free {
        void operator()(bn_ctx *c) const noexcept { bn_ctx_free(c); }
    };
    std::unique_ptr<bn_ctx, Free> ctx_;
};

}  // namespace bitnet
