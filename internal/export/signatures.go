package export

import (
	"fmt"
	"io"
	"time"

	"github.com/louyuan/louyuan/internal/petition"
)

// Sheet names of a signature-list workbook.
const (
	signedSheet    = "已签名"
	notSignedSheet = "未签名"
)

// signedColumns are the columns of the signed list.
var signedColumns = []column{
	{"楼栋", 10}, {"单元", 8}, {"房号", 8}, {"楼层", 6}, {"面积（㎡）", 11}, {"户代表", 10},
	{"手机号", 14}, {"签名人", 10}, {"签名时间", 19}, {"方式", 8}, {"认缴金额（元）", 14},
}

// notSignedColumns are the columns of the list of households that have not
// signed, with an empty 备注 column to write in on a door-to-door visit.
var notSignedColumns = []column{
	{"楼栋", 10}, {"单元", 8}, {"房号", 8}, {"楼层", 6}, {"面积（㎡）", 11}, {"户代表", 10},
	{"手机号", 14}, {"备注", 40},
}

// visitRowHeight leaves room to write by hand in the printed not-signed list.
const visitRowHeight = 24

// signatureChannelLabel names how a signature was given.
func signatureChannelLabel(channel string) string {
	switch channel {
	case petition.ChannelSelf:
		return "小程序"
	case petition.ChannelPaper:
		return "纸质"
	}
	return channel
}

// signedCells is one row of the signed list. The phone is written as
// given: masked ("138****5678") unless the export asked for full phones.
func signedCells(cells []value, r petition.HouseholdRow) []value {
	return append(cells[:0],
		textValue(r.Building), textValue(r.Unit), textValue(r.Room), intValue(int64(r.Floor)), centsValue(int64(r.Area)),
		textValue(r.Representative), textValue(r.Phone), textValue(r.SignerName), textValue(moment(r.SignedAt)),
		textValue(signatureChannelLabel(r.Channel)), optionalCents(r.PledgeFen))
}

// notSignedCells is one row of the not-signed list; 备注 is left empty.
func notSignedCells(cells []value, r petition.HouseholdRow) []value {
	return append(cells[:0],
		textValue(r.Building), textValue(r.Unit), textValue(r.Room), intValue(int64(r.Floor)), centsValue(int64(r.Area)),
		textValue(r.Representative), textValue(r.Phone), value{})
}

// householdRows adapts a household iterator to a table's rows; a nil
// iterator is an empty list.
func householdRows(rows func(func(petition.HouseholdRow) error) error, build func([]value, petition.HouseholdRow) []value) func(rowSink) error {
	return func(emit rowSink) error {
		if rows == nil {
			return nil
		}
		var cells []value
		return rows(func(r petition.HouseholdRow) error {
			cells = build(cells, r)
			return emit(cells)
		})
	}
}

// SignaturesXLSX writes a petition's signature list as an XLSX workbook to
// w. Sheet "已签名" has a title row (the petition title + "签名名单", and
// when the file was made, in China time), the header 楼栋, 单元, 房号, 楼层,
// 面积（㎡）, 户代表, 手机号, 签名人, 签名时间, 方式, 认缴金额（元）, and one
// row per signed household. Sheet "未签名" lists the households that have not
// signed, for door-to-door visits: 楼栋, 单元, 房号, 楼层, 面积（㎡）, 户代表,
// 手机号 and an empty 备注 column, with taller rows to write in.
//
// Floors are numbers; areas and pledges are numbers with the format "0.00"
// (so 85.20 and 1234.56, summable), an unpledged signature leaving the cell
// empty; signing times are text such as "2026-05-01 14:03:05" in China time,
// which reads the same in Excel and WPS whatever the computer's time zone.
// Both sheets freeze their two header rows and print on A4 landscape, one
// page wide, with the header rows on every page.
//
// Both sheets are streamed: each row is written as it is read, and the
// zipped workbook goes straight to w. An error of the iterator is returned
// as it is, and then nothing has been written to w.
//
// The households come in one pass over the scope, signed and not mixed
// (HouseholdRow.Signed tells which sheet each goes to): both sheets are
// streamed at once, so the database reads the scope once.
func SignaturesXLSX(w io.Writer, p petition.Petition, all func(func(petition.HouseholdRow) error) error) error {
	return SignaturesXLSXSealed(w, p, all, nil)
}

// SignaturesXLSXSealed is SignaturesXLSX with the sheet "校验信息" (what the
// file is, row counts and the digest of the rows of both lists, see Seal),
// when seal is not nil.
func SignaturesXLSXSealed(w io.Writer, p petition.Petition, all func(func(petition.HouseholdRow) error) error, seal *Seal) error {
	generated := time.Now()
	if seal != nil {
		seal.At = generated
	}
	d := newDigester(seal, signedSheet, notSignedSheet)
	f, st, err := newWorkbook(signedSheet)
	if err != nil {
		return fmt.Errorf("start signature workbook: %w", err)
	}
	defer f.Close()
	if _, err := f.NewSheet(notSignedSheet); err != nil {
		return fmt.Errorf("add not-signed sheet: %w", err)
	}
	tables := []table{
		{sheet: signedSheet, title: p.Title + "签名名单", columns: signedColumns},
		{sheet: notSignedSheet, title: p.Title + "未签名住户", columns: notSignedColumns, rowHeight: visitRowHeight},
	}
	err = streamTables(f, st, tables, generated, func(emit func(int, []value) error) error {
		if all == nil {
			return nil
		}
		var cells []value
		return all(func(r petition.HouseholdRow) error {
			if r.Signed {
				cells = signedCells(cells, r)
				d.row(0, cells)
				return emit(0, cells)
			}
			cells = notSignedCells(cells, r)
			d.row(1, cells)
			return emit(1, cells)
		})
	})
	if err != nil {
		return err
	}
	d.finish()
	if err := writeSealSheet(f, st, seal); err != nil {
		return fmt.Errorf("write sheet %s: %w", SealSheet, err)
	}
	if err := writeWorkbook(f, w); err != nil {
		return fmt.Errorf("write signature workbook: %w", err)
	}
	return nil
}

// SignaturesCSV writes one of a petition's two lists as CSV to w: the signed
// list when signed is true (the columns of sheet "已签名"), otherwise the
// households that have not signed (those of sheet "未签名"). The file starts
// with a UTF-8 BOM so that Excel and WPS read the Chinese correctly, has the
// header as its first line and no title row, ends lines with CRLF, and shows
// areas and amounts with two decimals ("85.20", "1234.56") and times in
// China time. Text that would start a formula gets a leading apostrophe (see
// csvText). Rows are written to w as they are read; an error of rows is
// returned as it is, after the rows before it were written.
func SignaturesCSV(w io.Writer, rows func(func(petition.HouseholdRow) error) error, signed bool) error {
	return SignaturesCSVSealed(w, rows, signed, nil)
}

// SignaturesCSVSealed is SignaturesCSV that, with a seal, ends the file
// with an empty line and the seal's lines ("#校验信息,key,value").
func SignaturesCSVSealed(w io.Writer, rows func(func(petition.HouseholdRow) error) error, signed bool, seal *Seal) error {
	cols, build := notSignedColumns, notSignedCells
	if signed {
		cols, build = signedColumns, signedCells
	}
	if seal != nil {
		seal.At = time.Now()
	}
	return writeSealedCSV(w, headers(cols), householdRows(rows, build), seal)
}
