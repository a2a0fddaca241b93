"""torch.autograd.graph's names: the node type and the module scope used by nn."""

from tapegrad.autograd.function import Node
from tapegrad.autograd.scope import current_path, module_scope

__all__ = ["Node", "current_path", "module_scope"]
