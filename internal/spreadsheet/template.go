package spreadsheet

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// The sheets of the roster template.
const (
	templateSheet      = "房屋名册"
	templateNotesSheet = "填写说明"
	// templateRows is how many rows of the template carry the text format
	// and the input checks.
	templateRows = 5000
)

// templateExamples are the example households under the template's header,
// in column order. Numbers are real numbers, as a clerk would type them.
var templateExamples = [][]any{
	{"1号楼", "1单元", "101", 1, 85.2, "示例张三", "123X"},
	{"1号楼", "1单元", "102", 1, 92.35, "示例李四、示例王五", "0456、7890"},
}

// templateNotes explains each column of the template, in column order.
var templateNotes = [fieldCount]string{
	fieldBuilding: "必填。如“1号楼”，只填数字“1”会读成“1号楼”。表头也可以写“楼号”“楼栋号”。",
	fieldUnit:     "必填。如“2单元”，只填数字“2”会读成“2单元”。表头也可以写“单元号”。",
	fieldRoom:     "必填。如“301”。同一楼栋、单元里的房号不能重复。表头也可以写“房间号”“门牌号”。",
	fieldFloor:    "1到60的整数，如“3”或“3层”。有这一列时每行必填；删掉整列则按房号推算楼层（301在3层，1201在12层）。",
	fieldArea:     "必填。不动产权证上的专有部分面积（平方米），大于0，最多两位小数，如“85.2”。表头也可以写“面积”“专有部分面积”“建筑面积”。",
	fieldOwner:    "必填。不动产权证上的业主姓名；几位共有人用顿号隔开，如“李四、王五”。表头也可以写“业主”“产权人”。",
	fieldIDTail:   "选填。业主身份证号码的最后4位，用来区分同名业主；几位业主用顿号隔开，顺序与姓名一致，如“0456、7890”。同一个名字要么每行都填，要么都不填，否则整个文件不能导入。",
	fieldSamePerson: "选填，填“是”或留空。同一位业主有几套房而又没有填证件后四位时，在这几行都填“是”，表示这些行上没有证件后四位的同名业主是同一个人（表决时按一人计算）。" +
		"两行以上出现同一个名字、都没有证件后四位又没有都填“是”的，整个文件不能导入：同名的不同业主请填写各自的证件后四位。",
}

// RosterTemplate writes a blank roster workbook for clerks to fill in: a
// "房屋名册" sheet with the canonical headers and two example rows, text
// format on the columns where leading zeros matter, input checks on floor
// and area, and a "填写说明" sheet explaining each column.
func RosterTemplate(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := buildTemplate(f); err != nil {
		return fmt.Errorf("build roster template: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write roster template: %w", err)
	}
	return nil
}

// buildTemplate fills a new workbook with the template.
func buildTemplate(f *excelize.File) error {
	if err := f.SetSheetName(f.GetSheetName(0), templateSheet); err != nil {
		return err
	}
	headerStyle, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
		Border:    thinBorder(),
	})
	if err != nil {
		return err
	}
	// Text format ("@") so that room 0101 or ID tail 0456 keeps its zeros.
	textStyle, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	widths := [fieldCount]float64{10, 10, 10, 8, 12, 24, 16, 14}
	headers := make([]any, fieldCount)
	for fd := range fieldCount {
		name, _ := excelize.ColumnNumberToName(int(fd) + 1)
		if err := f.SetColWidth(templateSheet, name, name, widths[fd]); err != nil {
			return err
		}
		switch fd {
		case fieldBuilding, fieldUnit, fieldRoom, fieldIDTail:
			if err := f.SetColStyle(templateSheet, name, textStyle); err != nil {
				return err
			}
		}
		headers[fd] = columns[fd].name
	}
	if err := f.SetSheetRow(templateSheet, "A1", &headers); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(int(fieldCount))
	if err := f.SetCellStyle(templateSheet, "A1", last+"1", headerStyle); err != nil {
		return err
	}
	for i, example := range templateExamples {
		axis, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(templateSheet, axis, &example); err != nil {
			return err
		}
	}
	if err := f.SetPanes(templateSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := addTemplateChecks(f); err != nil {
		return err
	}
	return addTemplateNotes(f)
}

// addTemplateChecks makes Excel refuse an impossible floor or area as it is
// typed, with the same words ParseRoster would use.
func addTemplateChecks(f *excelize.File) error {
	floorCol, _ := excelize.ColumnNumberToName(int(fieldFloor) + 1)
	floor := excelize.NewDataValidation(true)
	floor.SetSqref(fmt.Sprintf("%s2:%s%d", floorCol, floorCol, templateRows))
	if err := floor.SetRange(1, maxFloor, excelize.DataValidationTypeWhole, excelize.DataValidationOperatorBetween); err != nil {
		return err
	}
	floor.SetError(excelize.DataValidationErrorStyleStop, "楼层不对", fmt.Sprintf("楼层必须是1到%d之间的整数", maxFloor))
	if err := f.AddDataValidation(templateSheet, floor); err != nil {
		return err
	}
	areaCol, _ := excelize.ColumnNumberToName(int(fieldArea) + 1)
	area := excelize.NewDataValidation(true)
	area.SetSqref(fmt.Sprintf("%s2:%s%d", areaCol, areaCol, templateRows))
	if err := area.SetRange("0.01", "99999.99", excelize.DataValidationTypeDecimal, excelize.DataValidationOperatorBetween); err != nil {
		return err
	}
	area.SetError(excelize.DataValidationErrorStyleStop, "面积不对", "面积必须是大于0的数字，最多两位小数")
	if err := f.AddDataValidation(templateSheet, area); err != nil {
		return err
	}
	sameCol, _ := excelize.ColumnNumberToName(int(fieldSamePerson) + 1)
	same := excelize.NewDataValidation(true)
	same.SetSqref(fmt.Sprintf("%s2:%s%d", sameCol, sameCol, templateRows))
	if err := same.SetDropList([]string{"是"}); err != nil {
		return err
	}
	same.SetError(excelize.DataValidationErrorStyleStop, "只能填“是”", "同名是同一人：填“是”或留空")
	return f.AddDataValidation(templateSheet, same)
}

// addTemplateNotes writes the "填写说明" sheet.
func addTemplateNotes(f *excelize.File) error {
	if _, err := f.NewSheet(templateNotesSheet); err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	if err := f.SetColWidth(templateNotesSheet, "A", "A", 14); err != nil {
		return err
	}
	if err := f.SetColWidth(templateNotesSheet, "B", "B", 80); err != nil {
		return err
	}
	rows := [][]any{
		{"列", "怎么填"},
		{"整体", "每户一行，从第2行开始，示例的两行请改成真实数据或删除。列的顺序可以调整，多出来的列（如备注、电话）不会导入。文件中有任何一处问题，整个文件都不会导入，系统会列出所有问题所在的行和列。"},
	}
	for fd := range fieldCount {
		rows = append(rows, []any{columns[fd].name, templateNotes[fd]})
	}
	for i, row := range rows {
		axis, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(templateNotesSheet, axis, &row); err != nil {
			return err
		}
	}
	return f.SetCellStyle(templateNotesSheet, "A1", fmt.Sprintf("B%d", len(rows)), wrap)
}

// thinBorder is a thin black line on all four sides of a cell.
func thinBorder() []excelize.Border {
	var b []excelize.Border
	for _, side := range []string{"left", "top", "right", "bottom"} {
		b = append(b, excelize.Border{Type: side, Color: "000000", Style: 1})
	}
	return b
}
