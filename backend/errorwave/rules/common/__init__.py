"""What several rules share, one module per kind of thing: which graphs a rule can run on
(`graphs`), a linear vertex's halves and slopes (`layers`), autograd helpers
(`autodiff`), seeded random draws (`randomness`), angles (`angles`), the predictive-coding
energy (`predictive`), target propagation (`targets`), perturbation learning
(`perturbation`) and the base of rules that compute an example up front (`revealed`)."""
