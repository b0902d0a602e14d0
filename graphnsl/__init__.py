"""graphnsl: Neural Structured Learning's graph learning on TensorFlow 2.21 and Keras 3.

Families: `graphnsl.graph_reg` (graph regularization of any Keras model), `graphnsl.gnn`
(graph_nets models), `graphnsl.gam` (Graph Agreement Models), over one data layer,
`graphnsl.data`. Import the family you use; this package imports no TensorFlow itself.
"""

__version__ = "0.1.0"
