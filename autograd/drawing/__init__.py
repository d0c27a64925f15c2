"""Drawing a graph and stepping through backpropagation on it.

`graph` draws a graph with Graphviz (`draw_graph`, `save_graph`); `formulas` writes a node's
local derivatives as formulas; `steps` lists the forward and backward steps and `explain` prints
them; `page` animates them on the drawing (`step_through`). The public names are re-exported by
`autograd`.
"""
