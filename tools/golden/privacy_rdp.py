#!/usr/bin/python3
"""RDP accountant goldens for nb.privacy: TF Privacy's compute_rdp / get_privacy_spent, reimplemented.

Run with Debian's python (numpy only):  /usr/bin/python3 tools/golden/privacy_rdp.py
Writes test/golden/privacy_rdp.json: for each (q, sigma, steps) case, the RDP at every order of TF
Privacy's default list, and the (eps, best order) for delta = 1e-5 and the (delta, order) for eps = 1.

The formulas follow tensorflow_privacy/privacy/analysis/rdp_accountant.py (Mironov, Talwar, Zhang 2019,
"Renyi Differential Privacy of the Sampled Gaussian Mechanism"): the integer-order binomial sum, the
fractional-order two-sided series with erfc tails, and the improved RDP -> (eps, delta) conversion of
Canonne, Kamath and Steinke (2020, Proposition 12) that TF Privacy's get_privacy_spent uses. scipy is
absent on this machine, so log(erfc) takes TF Privacy's own fallback (math.erfc plus its asymptotic
series once erfc leaves the normal float64 range); binomials come from exact integers (integer orders) or the product
formula (fractional orders). Never run in CI; the tests read the committed JSON.
"""
import json
import math
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'privacy_rdp.json')
ORDERS = [1 + x / 10. for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512]


def log_add(logx, logy):
    a, b = min(logx, logy), max(logx, logy)
    if a == -np.inf:
        return b
    return math.log1p(math.exp(a - b)) + b


def log_sub(logx, logy):
    if logx < logy:
        raise ValueError('The result of subtraction must be non-negative.')
    if logy == -np.inf:
        return logx
    if logx == logy:
        return -np.inf
    try:
        return math.log(math.expm1(logx - logy)) + logy
    except OverflowError:
        return logx


def log_erfc(x):
    r = math.erfc(x)
    # NOTE: TF Privacy switches to the series only at r == 0, but erfc(x) is subnormal for 26.5 < x < 27.3
    # and its log there is off by up to 0.6 (a spike in the fractional-order sum); scipy's log_ndtr, which
    # TF Privacy prefers, has no such hole. The series' first omitted term is ~1e-13 at x = 26.5.
    if r < sys.float_info.min:
        return (-math.log(math.pi) / 2 - math.log(x) - x**2 - .5 * x**-2 + .625 * x**-4 - 37. / 24. * x**-6 +
                353. / 64. * x**-8)
    return math.log(r)


def log_a_int(q, sigma, alpha):
    log_a = -np.inf
    for i in range(alpha + 1):
        log_coef_i = math.log(math.comb(alpha, i)) + i * math.log(q) + (alpha - i) * math.log(1 - q)
        log_a = log_add(log_a, log_coef_i + (i * i - i) / (2 * sigma**2))
    return float(log_a)


def log_a_frac(q, sigma, alpha):
    log_a0, log_a1 = -np.inf, -np.inf
    i = 0
    coef = 1.0
    z0 = sigma**2 * math.log(1 / q - 1) + .5
    while True:
        if i > 0:
            coef *= (alpha - i + 1) / i
        log_coef = math.log(abs(coef))
        j = alpha - i
        log_t0 = log_coef + i * math.log(q) + j * math.log(1 - q)
        log_t1 = log_coef + j * math.log(q) + i * math.log(1 - q)
        log_e0 = math.log(.5) + log_erfc((i - z0) / (math.sqrt(2) * sigma))
        log_e1 = math.log(.5) + log_erfc((z0 - j) / (math.sqrt(2) * sigma))
        log_s0 = log_t0 + (i * i - i) / (2 * sigma**2) + log_e0
        log_s1 = log_t1 + (j * j - j) / (2 * sigma**2) + log_e1
        if coef > 0:
            log_a0 = log_add(log_a0, log_s0)
            log_a1 = log_add(log_a1, log_s1)
        else:
            log_a0 = log_sub(log_a0, log_s0)
            log_a1 = log_sub(log_a1, log_s1)
        i += 1
        if max(log_s0, log_s1) < -30:
            break
    return log_add(log_a0, log_a1)


def rdp_one(q, sigma, alpha):
    if q == 0:
        return 0.
    if sigma == 0:
        return np.inf
    if q == 1.:
        return alpha / (2 * sigma**2)
    if float(alpha).is_integer():
        return log_a_int(q, sigma, int(alpha)) / (alpha - 1)
    return log_a_frac(q, sigma, alpha) / (alpha - 1)


def compute_eps(orders, rdp, delta):
    eps_vec = []
    for a, r in zip(orders, rdp):
        if delta**2 + math.expm1(-r) >= 0:
            eps = 0
        elif a > 1.01:
            eps = r + math.log1p(-1 / a) - math.log(delta * a) / (a - 1)
        else:
            eps = np.inf
        eps_vec.append(eps)
    k = int(np.argmin(eps_vec))
    return max(0, eps_vec[k]), orders[k]


def compute_delta(orders, rdp, eps):
    logdeltas = []
    for a, r in zip(orders, rdp):
        # NOTE: r == 0 (q = 0) leaks nothing; TF Privacy's log1p(-1) would raise a domain error there
        logdelta = 0.5 * math.log1p(-math.exp(-r)) if r > 0 else -np.inf
        if a > 1.01:
            logdelta = min(logdelta, (a - 1) * (r - eps + math.log1p(-1 / a)) - math.log(a))
        logdeltas.append(logdelta)
    k = int(np.argmin(logdeltas))
    return min(math.exp(logdeltas[k]), 1.), orders[k]


CASES = [  # (q, sigma, steps): Abadi et al. MNIST, Papernot et al. Fashion-MNIST, edge cases
    (256 / 60000, 1.1, 60 * 60000 // 256),
    (0.01, 4.0, 10000),
    (256 / 60000, 2.15, 40 * 60000 // 256),
    (0.001, 0.7, 1000),
    (0.1, 1.0, 100),
    (0.5, 5.0, 10),
    (1.0, 3.0, 50),
    (0.0, 1.0, 100),
]


def main():
    cases = []
    for q, sigma, steps in CASES:
        rdp = [rdp_one(q, sigma, a) * steps for a in ORDERS]
        eps, eps_order = compute_eps(ORDERS, rdp, 1e-5)
        delta, delta_order = compute_delta(ORDERS, rdp, 1.0)
        cases.append({'q': q, 'sigma': sigma, 'steps': steps, 'rdp': rdp, 'eps': eps, 'epsOrder': eps_order,
                      'delta': delta, 'deltaOrder': delta_order})
        print(f'q={q:.5f} sigma={sigma} steps={steps}: eps={eps:.6f} (order {eps_order}) delta(eps=1)={delta:.3e}')
    with open(OUT, 'w') as f:
        json.dump({'source': 'tools/golden/privacy_rdp.py', 'orders': ORDERS, 'delta': 1e-5, 'eps': 1.0,
                   'cases': cases}, f)


if __name__ == '__main__':
    main()
