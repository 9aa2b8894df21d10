"""Randomisation for AVATAR II: permuted-block lists, their commitment, strata and Pocock-Simon minimisation.

Pure computation, no Django (clinical-spec §6, decision D17). The service layer owns locking (§6.3), storage,
concealment and the live random draws; this package owns every rule a test or an auditor can check on paper.

* ``strata``: the AVATAR II strata, endocrine partner (ai / serd) × oligoprogressive lesions (1 / 2-5).
* ``blocks``: stratified permuted blocks with block sizes drawn at random from {4, 6}, generated reproducibly from a
  secret seed, and the SHA-256 commitment that shows a stored list is the approved one.
* ``minimisation``: Pocock-Simon minimisation with a random element (p = 0.8), the alternative method.
* ``checks``: the static checks of §6.4 on a generated or stored list.

Sources: Pocock SJ, Simon R. *Biometrics* 1975;31:103-115. Pocock SJ. *Biometrics* 1979;35:183-197. ICH E9
Statistical principles for clinical trials (1998), §2.3.2 Randomisation. Rosenberger WF, Lachin JM. *Randomization
in Clinical Trials: Theory and Practice*, 2nd ed. Wiley, 2016.
"""

from .blocks import (
    COMMITMENT_FORMAT,
    GENERATOR_VERSION,
    MINIMUM_SEED_LENGTH,
    AllocationList,
    AllocationRow,
    canonical_serialisation,
    generate_block_list,
    list_commitment,
    recommended_rows,
    verify_commitment,
)
from .checks import (
    DEFAULT_ALPHA,
    FindingSeverity,
    GoodnessOfFit,
    ListCheck,
    ListFinding,
    block_size_frequencies,
    check_allocation_list,
    check_block_balance,
    check_block_size_frequencies,
    check_block_sizes,
    check_list_structure,
    check_permutation_uniformity,
    check_running_imbalance,
    permutation_frequencies,
)
from .minimisation import MINIMISATION_VERSION, ImbalanceMeasure, MinimisationDecision, marginal_counts, minimise
from .strata import AVATAR2_STRATA, MAX_OLIGO_LESIONS, EndocrinePartner, oligo_lesions_level, stratum_code

__all__ = [
    "AVATAR2_STRATA",
    "COMMITMENT_FORMAT",
    "DEFAULT_ALPHA",
    "GENERATOR_VERSION",
    "MAX_OLIGO_LESIONS",
    "MINIMISATION_VERSION",
    "MINIMUM_SEED_LENGTH",
    "AllocationList",
    "AllocationRow",
    "EndocrinePartner",
    "FindingSeverity",
    "GoodnessOfFit",
    "ImbalanceMeasure",
    "ListCheck",
    "ListFinding",
    "MinimisationDecision",
    "block_size_frequencies",
    "canonical_serialisation",
    "check_allocation_list",
    "check_block_balance",
    "check_block_size_frequencies",
    "check_block_sizes",
    "check_list_structure",
    "check_permutation_uniformity",
    "check_running_imbalance",
    "generate_block_list",
    "list_commitment",
    "marginal_counts",
    "minimise",
    "oligo_lesions_level",
    "permutation_frequencies",
    "recommended_rows",
    "stratum_code",
    "verify_commitment",
]
