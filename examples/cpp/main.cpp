// C++17 consumer of libbitnet through the RAII wrapper in bitnet.hpp.
//   bitnet-cpp [MODEL.gguf [PROMPT]]
#include "bitnet.hpp"

#include <cstdio>
#include <iostream>

int main(int argc, char **argv)
{
    std::cout << "libbitnet " << bn_version_string() << " from C++17\n";
    try {
        bitnet::Model missing("/nonexistent/model.gguf");
        std::cerr << "opening a missing file did not throw\n";
        return 1;
    } catch (const bitnet::Error &e) {
        std::cout << "missing file: " << e.what() << "\n";
    }
    if (argc < 2)
        return 0;
    try {
        bitnet::Model model(argv[1]);
        std::cout << "model: " << model.arch() << ", " << model.n_layer() << " layers, vocabulary "
                  << model.n_vocab() << "\n";
        bitnet::Context ctx(model, 256);
        bitnet::GenParams params;
        params.n_predict = 16;
        params.temperature = 0.0f;
        std::string text = ctx.generate(argc > 2 ? argv[2] : "Hello", params, [](std::string_view piece) {
            std::cout << piece << std::flush;
            return true;
        });
        std::cout << "\n(" << text.size() << " bytes, " << ctx.n_past() << " tokens in the context)\n";
    } catch (const bitnet::Error &e) {
        std::cerr << "bitnet-cpp: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
