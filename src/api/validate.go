package api

// Field checks shared by the handlers: which request field an error is
// about, account numbers and amounts.

import (
	"errors"

	"github.com/kubebank/kubebank/src/bank"
)

// fieldErr attaches the request field to a validation error.
func fieldErr(field string, err error) error {
	var be *bank.Error
	if errors.As(err, &be) && be.Kind == bank.KindInvalid {
		return invalid(be.Code, field, be.Message)
	}
	return err
}

// firstError is the first failed check in the order given: which error a
// client sees when several fields are wrong is part of the contract, so
// the order is the caller's. The checks are pure, so evaluating them all
// before picking changes nothing.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkNumber(field, n string) error {
	return fieldErr(field, bank.ValidateAccountNumber(n))
}

func checkMoney(amount int64, currency string) error {
	if err := bank.ValidateAmount(amount); err != nil {
		return fieldErr("amount", err)
	}
	if _, err := bank.LookupCurrency(currency); err != nil {
		return fieldErr("currency", err)
	}
	return nil
}
