"""sparse-rnn's pruning recipe (Narang et al. 2017 Algorithm 1, AGP, hard, one-shot) for PyTorch,
and a small safetensors writer so that the pruned model goes back to `sparse-rnn import`.

    from sparse_rnn_torch import Pruner
    pruner = Pruner(recipe, model, epochs=E, iters_per_epoch=S)
    # in the loop, after optimizer.step():
    pruner.after_step(itr)
"""

from .pruner import Pruner, float32, nearest_rank, param_kinds
from .recipe import RecipeError, parse_recipe, resolve_recipe
from .safetensors import load_file, save_file

__version__ = "0.1.0"
__all__ = ["Pruner", "RecipeError", "parse_recipe", "resolve_recipe", "param_kinds", "float32", "nearest_rank",
           "save_file", "load_file"]
