# Reference values for ruxtrack.stats Firth logistic regression.
# Run: Rscript firth.R > firth.Rout 2>&1   (R 4.2.2, brglm2 0.9 from Debian r-cran-brglm2)
# logistf is not packaged for Debian 12 and CRAN was unreachable, so:
#  * point estimates come from brglm2 (type = "AS_mean": for the logit link, mean bias reduction
#    is Firth's (1993) penalised likelihood, Kosmidis & Firth 2021, Biometrika 108:71-82);
#  * the penalised log-likelihood l(b) + 0.5 log|I(b)|, the penalised likelihood-ratio tests and the
#    profile penalised-likelihood CIs (Heinze & Schemper 2002, Stat Med 21:2409-2419, section 2.2;
#    logistf's defaults) are computed below in base R with optim() and uniroot().
options(digits = 15, width = 200)
suppressMessages(library(brglm2))
cat("R:", R.version.string, " brglm2", format(packageVersion("brglm2")), "\n")

pen_ll <- function(beta, X, y) {
  eta <- drop(X %*% beta); p <- plogis(eta)
  w <- p * (1 - p)
  ll <- sum(dbinom(y, 1, p, log = TRUE))
  ll + 0.5 * determinant(crossprod(X, X * w), logarithm = TRUE)$modulus[1]
}
fit_pen <- function(X, y, fixed = NULL, value = 0, start) {
  free <- setdiff(seq_len(ncol(X)), fixed)
  f <- function(b) { full <- numeric(ncol(X)); full[free] <- b; if (!is.null(fixed)) full[fixed] <- value; -pen_ll(full, X, y) }
  if (length(free) == 0) return(list(value = -f(numeric(0))))
  o <- optim(start[free], f, method = "BFGS", control = list(reltol = 1e-15, maxit = 10000))
  o <- optim(o$par, f, method = "Nelder-Mead", control = list(reltol = 1e-15, maxit = 20000))
  o <- optim(o$par, f, method = "BFGS", control = list(reltol = 1e-15, maxit = 10000))
  list(value = -o$value, par = o$par)
}
report <- function(label, formula, data) {
  fit <- glm(formula, family = binomial("logit"), data = data, method = "brglmFit", type = "AS_mean",
             epsilon = 1e-12, maxit = 500)
  X <- model.matrix(fit); y <- fit$y; b <- coef(fit)
  lmax <- pen_ll(b, X, y)
  cat("\n##", label, "\n")
  cat(sprintf("penalised loglik at brglm2 estimate = %.15g\n", lmax))
  p <- plogis(drop(X %*% b))
  se_inv_info <- sqrt(diag(solve(crossprod(X, X * (p * (1 - p))))))
  cat("SE from the inverse Fisher information (X'WX)^-1 at the estimate (logistf's vcov):\n")
  cat(sprintf("  %s = %.15g\n", names(b), se_inv_info), sep = "")
  crit <- qchisq(0.95, 1)
  for (j in seq_along(b)) {
    l0 <- fit_pen(X, y, fixed = j, value = 0, start = b)$value
    lr <- 2 * (lmax - l0)
    g <- function(v) 2 * (lmax - fit_pen(X, y, fixed = j, value = v, start = b)$value) - crit
    se <- sqrt(diag(vcov(fit)))[j]
    lo <- uniroot(g, c(b[j] - 8 * se - 0.5, b[j]), tol = 1e-12)$root
    hi <- uniroot(g, c(b[j], b[j] + 8 * se + 0.5), tol = 1e-12)$root
    cat(sprintf("%s | coef=%.15g | brglm2_se=%.15g | pen_LR_chisq=%.15g | p=%.15g | pl_ci=[%.15g, %.15g]\n",
                names(b)[j], b[j], se, lr, pchisq(lr, 1, lower.tail = FALSE), lo, hi))
  }
}
## Endometrial cancer data (Heinze & Schemper 2002, section 4; brglm2::endometrial). NV shows
## quasi-complete separation.
data(endometrial, package = "brglm2")
write.csv(endometrial, "endometrial.csv", row.names = FALSE)
report("endometrial HG ~ NV + PI + EH", HG ~ NV + PI + EH, endometrial)
## Seed-shaped 2x2 with separation: early start (<= 7 d from first positive test) vs complete
## response, counts as in Sarmiento 2021 Table 3 (CR 10/10 early; LR 1/5 early; P 1/3 early).
early <- data.frame(early = c(rep(1, 12), rep(0, 6)), cr = c(rep(1, 10), rep(0, 2), rep(0, 6)))
write.csv(early, "early_start.csv", row.names = FALSE)
report("early start cr ~ early", cr ~ early, early)
## No separation: complete response ~ early on a less extreme table (constructed here)
mild <- data.frame(early = c(rep(1, 12), rep(0, 8)), cr = c(rep(1, 8), rep(0, 4), rep(1, 2), rep(0, 6)))
write.csv(mild, "mild.csv", row.names = FALSE)
report("mild cr ~ early", cr ~ early, mild)
