"""Grid-like units from path integration and vector navigation (Banino et al. 2018; Sorscher et al. 2019, 2023).

trajectories: rat-like motion in a box; cells: place and head-direction targets; models: the two networks;
training: their training loop; gridness: Banino's gridness score and the shuffle null; analysis: rate maps,
grid-like fractions, decoding error; pattern: Sorscher's pattern formation; navigation: vector navigation
from codes; study and figures: every number and panel of `scripts/gridcells.py`.
"""
